/** The widget's own strings in the languages it speaks; `data-lang` picks one (English otherwise). */

export interface Strings {
  open: string;
  close: string;
  greeting: string;
  inputLabel: string;
  placeholder: string;
  send: string;
  sources: string;
  helpful: string;
  notHelpful: string;
  reasonLabel: string;
  reasons: string[];
  commentLabel: string;
  sendFeedback: string;
  cancel: string;
  thanks: string;
  person: string;
  personNote: string;
  personSent: string;
  personNeedsQuestion: string;
  thinking: string;
  withdrawn: string;
  error: string;
  newChat: string;
  you: string;
  assistant: string;
}

const en: Strings = {
  open: "Chat with us",
  close: "Close chat",
  greeting: "Hi! Ask me anything about orders, shipping or returns.",
  inputLabel: "Your question",
  placeholder: "Type your question…",
  send: "Send",
  sources: "Sources",
  helpful: "Helpful",
  notHelpful: "Not helpful",
  reasonLabel: "What was wrong?",
  reasons: ["Did not answer my question", "Wrong or outdated", "Hard to understand", "Other"],
  commentLabel: "Comment (optional)",
  sendFeedback: "Send feedback",
  cancel: "Cancel",
  thanks: "Thanks for your feedback.",
  person: "Talk to a person",
  personNote: "Anything you want the agent to know? (optional)",
  personSent: "A person from our team will take over. Ticket",
  personNeedsQuestion: "Ask a question first, so the agent can see what you need.",
  thinking: "The assistant is writing…",
  withdrawn: "The answer was withdrawn.",
  error: "Sorry, the assistant could not answer right now",
  newChat: "New conversation",
  you: "You",
  assistant: "Assistant",
};

const es: Strings = {
  open: "Chatea con nosotros",
  close: "Cerrar chat",
  greeting: "¡Hola! Pregúntame lo que quieras sobre pedidos, envíos o devoluciones.",
  inputLabel: "Tu pregunta",
  placeholder: "Escribe tu pregunta…",
  send: "Enviar",
  sources: "Fuentes",
  helpful: "Útil",
  notHelpful: "No es útil",
  reasonLabel: "¿Qué falló?",
  reasons: ["No respondió a mi pregunta", "Incorrecto o desactualizado", "Difícil de entender", "Otro"],
  commentLabel: "Comentario (opcional)",
  sendFeedback: "Enviar opinión",
  cancel: "Cancelar",
  thanks: "Gracias por tu opinión.",
  person: "Hablar con una persona",
  personNote: "¿Algo que el agente deba saber? (opcional)",
  personSent: "Una persona de nuestro equipo continuará. Ticket",
  personNeedsQuestion: "Haz primero una pregunta, para que el agente vea qué necesitas.",
  thinking: "El asistente está escribiendo…",
  withdrawn: "La respuesta se ha retirado.",
  error: "Lo sentimos, el asistente no puede responder ahora",
  newChat: "Nueva conversación",
  you: "Tú",
  assistant: "Asistente",
};

const de: Strings = {
  open: "Chatten Sie mit uns",
  close: "Chat schließen",
  greeting: "Hallo! Fragen Sie mich alles zu Bestellungen, Versand oder Rücksendungen.",
  inputLabel: "Ihre Frage",
  placeholder: "Ihre Frage eingeben…",
  send: "Senden",
  sources: "Quellen",
  helpful: "Hilfreich",
  notHelpful: "Nicht hilfreich",
  reasonLabel: "Was war falsch?",
  reasons: ["Hat meine Frage nicht beantwortet", "Falsch oder veraltet", "Schwer verständlich", "Anderes"],
  commentLabel: "Kommentar (optional)",
  sendFeedback: "Feedback senden",
  cancel: "Abbrechen",
  thanks: "Danke für Ihr Feedback.",
  person: "Mit einem Menschen sprechen",
  personNote: "Was soll die Mitarbeiterin wissen? (optional)",
  personSent: "Jemand aus unserem Team übernimmt. Ticket",
  personNeedsQuestion: "Stellen Sie zuerst eine Frage, damit das Team sieht, worum es geht.",
  thinking: "Der Assistent schreibt…",
  withdrawn: "Die Antwort wurde zurückgezogen.",
  error: "Der Assistent kann gerade nicht antworten",
  newChat: "Neues Gespräch",
  you: "Sie",
  assistant: "Assistent",
};

const fr: Strings = {
  open: "Discutez avec nous",
  close: "Fermer le chat",
  greeting: "Bonjour ! Posez-moi vos questions sur les commandes, la livraison ou les retours.",
  inputLabel: "Votre question",
  placeholder: "Écrivez votre question…",
  send: "Envoyer",
  sources: "Sources",
  helpful: "Utile",
  notHelpful: "Pas utile",
  reasonLabel: "Qu'est-ce qui n'allait pas ?",
  reasons: ["N'a pas répondu à ma question", "Faux ou obsolète", "Difficile à comprendre", "Autre"],
  commentLabel: "Commentaire (facultatif)",
  sendFeedback: "Envoyer l'avis",
  cancel: "Annuler",
  thanks: "Merci pour votre avis.",
  person: "Parler à une personne",
  personNote: "Quelque chose à dire au conseiller ? (facultatif)",
  personSent: "Une personne de notre équipe va prendre le relais. Ticket",
  personNeedsQuestion: "Posez d'abord une question, pour que le conseiller voie ce qu'il vous faut.",
  thinking: "L'assistant écrit…",
  withdrawn: "La réponse a été retirée.",
  error: "Désolé, l'assistant ne peut pas répondre pour le moment",
  newChat: "Nouvelle conversation",
  you: "Vous",
  assistant: "Assistant",
};

const LANGUAGES: Record<string, Strings> = { en, es, de, fr };

/** The strings for a BCP 47 tag ("de-AT" speaks "de"), and the language actually used. */
export function stringsFor(tag: string | null): { lang: string; strings: Strings } {
  const lang = (tag ?? "en").toLowerCase().split("-")[0];
  return lang in LANGUAGES ? { lang, strings: LANGUAGES[lang] } : { lang: "en", strings: en };
}
