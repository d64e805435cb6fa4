# ruff: noqa: E501  (regular expressions read best one alternative to a line)
"""Patterns for the known families of prompt injection and jailbreak, in English, Spanish, German
and French.

They read normalised text (`normalize.views`: lower case, no diacritics, homoglyphs folded), so
they are written in plain lower-case ASCII. Every gap is bounded (`{0,n}`) and no group repeats
an ambiguous sub-pattern, so each scan is linear in the length of the text. A pattern fires on
an instruction aimed at the assistant, not on a word: "ignore my last order" and "ignore the
doorbell" pass, "ignore all previous instructions" does not.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_GAP = r"(?:[^\s.!?]{1,30} ){0,4}"  # up to four words
_SHORT_GAP = r"(?:[^\s.!?]{1,30} ){0,2}"


@dataclass(frozen=True)
class InjectionPattern:
    family: str
    score: float
    regex: re.Pattern[str]


def _family(family: str, score: float, *alternatives: str) -> InjectionPattern:
    return InjectionPattern(family, score, re.compile("|".join(f"(?:{a})" for a in alternatives)))


_PRIOR = (
    r"(?:previous|prior|above|earlier|preceding|former|original|initial|old|existing|system|"
    r"anteriores|previas|anterior|vorherigen?|bisherigen?|vorigen?|obigen?|vorangegangenen?|"
    r"precedentes?|anterieures?|ci-dessus)"
)
_RULES = (
    r"(?:instructions?|prompts?|rules?|directives?|guidelines?|commands?|context|programming|"
    r"constraints?|restrictions?|guardrails?|safeguards?|filters?|polic(?:y|ies)|training|"
    r"instrucciones|reglas|indicaciones|ordenes|anweisungen|instruktionen|befehle|regeln|vorgaben|"
    r"informationen|consignes|regles|directives|assignments?|tasks?|aufgaben|auftrage|taches|tareas)"
)

PATTERNS: tuple[InjectionPattern, ...] = (
    _family(
        "ignore_previous",
        0.95,
        rf"\b(?:ignore|ignoring|disregard|forget|skip|override|bypass|overlook|neglect|abandon|discard|"
        rf"drop|erase|delete|set aside|throw out)\b {_GAP}{_PRIOR}\b {_SHORT_GAP}{_RULES}\b",
        rf"\b(?:ignore|disregard|forget|override|bypass)\b (?:all |any |every )?(?:of )?(?:your|the|these|those|"
        rf"my) {_SHORT_GAP}{_RULES}\b",
        r"\b(?:ignore|disregard|forget)\b (?:all |about )?(?:everything|anything|all(?: of)? (?:that|this)|"
        r"what (?:i|you) (?:said|told you|wrote|were told)|the above|what came before)\b"
        r"(?: (?:above|before|said|so far|previously|until now|you (?:know|were told|have been told)))?",
        r"\b(?:ignora|ignorar|ignore|olvida|olvidar|olvide|descarta|omite)\b (?:todas? |todo )?(?:las |los |lo )?"
        rf"{_SHORT_GAP}(?:instrucciones|reglas|indicaciones|anterior|previo|dicho)\b",
        r"\b(?:olvida|olvide|olvidate de) todo\b",
        r"\b(?:ignorier\w{0,3}|vergiss|vergessen sie|missachte\w{0,2}|uberschreib\w{0,3})\b "
        rf"{_GAP}(?:{_PRIOR}|alle|alles|deine|ihre)\b ?{_SHORT_GAP}(?:{_RULES}|davor|vorher|zuvor|oben)?",
        r"\b(?:ignore[zr]?|oublie[zr]?|ne tiens pas compte|fais abstraction)\b "
        r"(?:de |des )?(?:toutes |tout |tous )?(?:les |ce |vos |tes )?"
        rf"{_SHORT_GAP}(?:instructions|consignes|regles|directives|precede|qui precede|ci-dessus|avant)\b",
        r"\b(?:oublie[zr]?) tout\b",
        r"\b(?:alle|all) (?:bisherigen|vorherigen|previous) \w{0,20} ?(?:sind|are) (?:irrelevant|unwichtig|"
        r"void|null|cancelled|no longer valid|ungultig)",
    ),
    _family(
        "new_instructions",
        0.9,
        r"\b(?:new|updated|real|actual|true|secret|revised|override|priority) (?:instructions?|task|orders|"
        r"directive|objective|system prompt|role|goal|mission)\b ?(?:is|are|:|follow|for you)",
        r"\bfrom now on,? (?:you (?:are|will|must|should|shall|have to|need to|answer|respond|reply|act|only|always|"
        r"never|speak|may|can ignore)|your (?:name|role|task|job|answers?) (?:is|are|will)|always|never|only|respond|"
        r"answer|reply|act|speak|talk like|pretend|ignore|forget|behave)\b",
        r"\b(?:a partir de ahora|desde ahora|de ahora en adelante),? (?:eres|seras|actua|responde|vas a|debes|"
        r"solo|siempre|nunca|ignora|olvida)\b",
        r"\b(?:ab jetzt|ab sofort|von nun an|ab heute),? (?:bist du|bist|sollst du|wirst du|antwortest du|"
        r"antworte|sag|ignor\w{0,3}|vergiss|du bist|sprichst du|gibst du)\b",
        r"\b(?:a partir de maintenant|desormais|dorenavant|maintenant),? (?:tu es|vous etes|tu vas|vous allez|"
        r"tu dois|vous devez|reponds|repondez|ignore|oublie|agis|agissez)\b",
        r"\b(?:neue|nouvelles?|nueva|nuevas) (?:anweisung|aufgabe|instructions?|consignes?|tache|"
        r"instrucciones|tarea|orden)\w{0,3}\b ?(?::|lautet|ist|sind|est|sont|es|son)",
        r"\b(?:instead|now|then),? (?:just )?(?:say|print|write|output|respond with|reply with|type|repeat)\b "
        r"(?:only |exactly |the (?:word|phrase|text) )?[\"'\u201c]",
        r"\b(?:do not|don't|dont|never|stop) (?:follow(?:ing)?|obey(?:ing)?|listen(?:ing)? to|adher\w{1,5} to)"
        r" (?:your|the|any|those|these) (?:\w+ ){0,2}(?:rules|instructions|guidelines|programming|polic\w{1,3}|"
        r"restrictions|developers?|creators?)",
        r"\b(?:you are|you're|you) (?:no longer|not) (?:bound|restricted|limited|constrained|required to follow)",
        r"\byou (?:have been|are now|were|got) (?:freed|liberated|unlocked|jailbroken|reprogrammed|unshackled)",
        r"\b(?:change|update|replace|rewrite|modify) (?:your|the) (?:instructions|system prompt|rules|"
        r"programming|guidelines) (?:to|with|as follows)",
    ),
    _family(
        "task_switch",
        0.9,
        r"\b(?:that is|that's|this is|das ist|c'est|eso es) (?:done|enough|finished|over|erledigt|genug|fini|"
        r"assez|suficiente)\b[.!,]{0,3} (?:now|next|then|jetzt|nun|maintenant|ahora)\b",
        r"\b(?:stop|stopp|halt|enough|achtung)\b ?[-:!,]{1,3} ?(?:now |jetzt )?(?:write|say|print|output|"
        r"schreib\w{0,2}|sag\w{0,2}|escribe|ecris|stop|stopp)\b",
        r"\b(?:now|jetzt|nun|ahora|maintenant) (?:focus on|concentrate on|konzentriere dich auf|"
        r"centrate en|concentre-toi sur) (?:your |the |a |deine |die |eine |tu |la |ta )?(?:new|next|"
        r"neue\w{0,2}|nachste\w{0,2}|nueva|nouvelle)\b",
    ),
    _family(
        "persona",
        0.9,
        r"\b(?:you are now|you're now|you are going to (?:be|act)|act as|acting as|pretend (?:to be|you are|you're)|role-?play as|play the role of|"
        r"imagine you are|you will (?:now )?be|become|simulate|behave like|respond as|answer as|"
        r"stay in character as)\b[^.!?\n]{0,60}\b(?:dan|stan|dude|aim|evil|unfiltered|uncensored|"
        r"unrestricted|jailbroken|jailbreak|amoral|unethical|rogue|developer mode|god mode|"
        r"without (?:any )?(?:restrictions|limits|limitations|rules|filters|censorship|guidelines)|"
        r"no (?:restrictions|limits|limitations|rules|filters|guidelines|morals|ethics|boundaries))\b",
        r"\bdo anything now\b|\b(?:developer|dev|god|debug|sudo|admin|maintenance|unrestricted|dan|stan|"
        r"jailbreak|jailbroken|evil) mode\b|\bjailbreak (?:prompt|this|yourself)\b",
        r"\b(?:modo (?:desarrollador|dios|sin restricciones|sin censura)|entwicklermodus|"
        r"mode (?:developpeur|sans restriction|sans filtre|dieu))\b",
        r"\b(?:pretend|imagine|suppose) (?:that )?(?:you are|you're|you can|you have|you were|to be)\b",
        r"\b(?:i want you to|i'd like you to|you will now|you must now) (?:act|behave|pretend|roleplay|"
        r"role-play|respond|answer|play) (?:as|like)\b",
        r"\b(?:finge|fingir|haz de cuenta|imagina) (?:que )?(?:eres|ser|tienes|puedes|que eres)\b",
        r"\b(?:actua|actue|comportate) como\b",
        r"\b(?:tu so als|tun sie so als|stell dir vor,? (?:du bist|du warst|dass du)|stellen sie sich vor,? "
        r"sie (?:sind|waren)|du bist (?:jetzt|nun|ab sofort) (?:ein|eine|der|die|mein)?)\b",
        r"\b(?:als|wie) (?:ein |eine |einen )?[^.!?\n]{0,40} (?:fungieren|agieren|auftreten|handeln)\b",
        r"\b(?:fais semblant|faites semblant|fais comme si|faites comme si|imagine que tu es|imaginez que vous "
        r"etes|joue le role|jouez le role|agis comme|agissez comme|comporte-toi comme)\b",
    ),
    _family(
        "restriction_talk",  # weak alone ("a plan without limits"): adds to the classifier's score
        0.4,
        r"\b(?:without|sin|ohne|sans) (?:any |ninguna |jegliche |aucune )?(?:restrictions?|limits|"
        r"limitations?|filters?|filtros?|censorship|censura|restricciones|limitaciones|einschrankungen|"
        r"beschrankungen|zensur|filtre|censure|limites?|morals|ethics|moral|ethische\w{0,2}|regeln|"
        r"reglas|regles)\b",
    ),
    _family(
        "fake_system_turn",
        0.9,
        r"(?:^|\n|[.!?] )\s{0,8}(?:#{1,4}\s{0,3})?(?:system|assistant|developer|admin|administrator|sistema|"
        r"systeme|root|operator)\s{0,3}(?:message|prompt|note|override|instruction)?\s{0,3}:",
        r"<\|?\s{0,2}(?:system|im_start|im_end|endoftext|start_header_id|eot_id|assistant)\s{0,2}\|?>",
        r"\[/?\s{0,2}(?:system|inst|sys|admin|developer)\s{0,2}\]|<</?sys>>",
        r"</?\s{0,2}(?:system|instructions?|sys|admin|prompt|context)\s{0,2}>",
        r"\b(?:begin|end|start) (?:of )?(?:the )?(?:system|admin|developer|new) (?:prompt|message|override|"
        r"instructions)\b",
        r"\b(?:message|instruction|note|order) from (?:the |your )?(?:system|developers?|administrators?|admin|"
        r"openai|anthropic|creators?|operators?)\b",
        r"\b(?:admin|administrator|system|developer|security|root) (?:override|command)\b|"
        r"\b(?:admin|root|developer|god) (?:access|privileges|rights) (?:granted|enabled|activated|unlocked)\b",
    ),
    _family(
        "prompt_request",
        0.9,
        r"\b(?:reveal|show|print|display|repeat|tell|give|output|leak|share|write out|recite|dump|spell out|"
        r"translate|paste|send|what (?:is|are|was|were)|list|copy|summari[sz]e|explain)\b[^.!?\n]{0,40}"
        r"\b(?:system prompt|system message|system instructions|initial (?:prompt|instructions)|hidden "
        r"(?:prompt|instructions|rules)|original (?:prompt|instructions)|your (?:instructions|prompt|"
        r"programming|configuration|config|initial|directives)|pre-?prompt|developer (?:message|instructions)|"
        r"tools? (?:config\w{0,7}|definitions?|schemas?|list)|(?:functions|tools) (?:you have|you can call|"
        r"available)|(?:your|the system'?s?|the bot'?s?) (?:api keys?|secret keys?|access tokens?|credentials)|"
        r"environment variables|"
        r"the (?:text|words|instructions) (?:above|before this))\b",
        r"\b(?:repeat|print|output|echo|copy|write) (?:back )?(?:all |everything |the (?:text|words) )?"
        r"(?:above|before this|verbatim|word for word|starting with)\b",
        r"\b(?:muestra(?:me)?|revela(?:me)?|dime|dame|repite|ensename|escribe) "
        r"[^.!?\n]{0,30}(?:prompt|mensaje|instrucciones) (?:del|de) sistema\b",
        r"\b(?:tu|el|su) (?:prompt|mensaje) (?:del sistema|de sistema|inicial|original)\b",
        r"\b(?:zeig|gib|nenne|verrat|wiederhole|schreib|sag)\w{0,3} (?:mir )?[^.!?\n]{0,30}(?:system ?prompt|"
        r"systemnachricht|(?:deine|ihre|die ursprunglichen?|die geheimen?|die versteckten?|die internen?) "
        r"(?:anweisungen|instruktionen|regeln)|ursprunglichen? prompt)\b",
        r"\b(?:revele|revelez|montre|montrez|affiche|affichez|donne|donnez|repete|repetez|dis|dites)"
        r"(?:-moi)? [^.!?\n]{0,30}(?:prompt|message|instructions) (?:systeme|system|initia\w{1,3}|"
        r"d'origine|original\w{0,2})\b",
    ),
    _family(
        "exfiltration",
        0.9,
        r"!\[[^\]\n]{0,200}\]\(\s{0,3}(?:https?:)?//[^)\s]{1,500}\)",
        r"\b(?:render|display|show|include|add|embed|output|append|insert|print|generate|create)\b[^.\n]{0,60}"
        r"\b(?:image|markdown|link|url|img|pixel|hyperlink)\b[^.\n]{0,100}\b(?:conversation|chat|history|"
        r"data|e-?mail|password|token|secret|previous|user'?s?|summary|query|parameter|address|"
        r"card|credentials)\b",
        r"(?:https?:)?//[^\s)\"']{1,200}[?&][\w-]{1,30}=(?:\{|\[|<|\$|%7b)",
        r"\b(?:send|post|forward|upload|exfiltrate|transmit|leak|email|e-mail)\b[^.\n]{0,60}\b(?:conversation|"
        r"chat history|data|credentials|passwords?|tokens?|customer (?:data|list|records)|other (?:users|"
        r"customers))\b[^.\n]{0,40}\b(?:to|at) (?:https?://|www\.|[\w-]{1,30}\.(?:com|net|org|io|ru|xyz))",
    ),
    _family(
        "social_engineering",
        0.8,
        r"\b(?:supervisor|manager|admin|administrator|ceo|boss|team lead|"
        r"someone from (?:your|the) (?:team|company)|your (?:developer|creator|colleague)|"
        r"(?:vorgesetzte|chef|manager|leiter)\w{0,2}|supervisor|gerente|jefe|encargado|superviseur|"
        r"responsable|directeur)\b[^.!?\n]{0,60}\b(?:approved|authori[sz]ed|okayed|signed off|confirmed|"
        r"agreed|gave (?:me )?permission|said (?:it'?s|it is|you can|you should)|allowed|aprobo|autorizo|"
        r"genehmigt|erlaubt|freigegeben|approuve|autorise|valide)\b[^.!?\n]{0,20}"
        r"(?:[,;.!]\s{0,3}|\s)(?:so |therefore |just |now |please |entonces |also |alors |donc )?"
        r"(?:issue|process|give|grant|apply|override|bypass|skip|waive|make an exception|"
        r"you (?:must|have to|need to|should|can|may)|approve|credit|emite|procesa|"
        r"erstatte|uberweise|gib|rembourse|effectue|accorde)\b",
        r"\b(?:i am|i'm|this is|as) (?:the |a |an |your )?(?:admin|administrator|developer|supervisor|"
        r"manager|owner|employee|staff member|store owner|ceo|engineer|moderator|security team)\b"
        r"[^.!?\n]{0,40}\b(?:so|and) (?:you (?:must|should|can|need to|have to)|give|grant|override|bypass|"
        r"issue|disable|enable|unlock|approve|refund|show|reveal|ignore)\b",
        r"\b(?:issue|process|give|grant|approve|send)\b (?:me )?(?:a |an |the |my )?(?:full |immediate |instant )?"
        r"(?:refund|credit|chargeback|reimbursement)\b[^.!?\n]{0,40}\b(?:without|no|skip(?:ping)?|bypass(?:ing)?)"
        r" (?:any |the )?(?:verification|checks?|questions|receipt|proof|return|approval|policy|review)\b",
        r"\b(?:override|bypass|ignore|skip|waive|circumvent) (?:the |your |any )?(?:refund|return|"
        r"verification|security|authentication|identity) (?:policy|policies|rules|checks?|process|window|limit)"
        r"\b[^.!?\n]{0,30}\b(?:and|then|to) (?:refund|issue|give|process|approve|send)\b",
    ),
)

# Letters only ("ignoreallpreviousinstructions"): catches words split by odd separators that
# `normalize` could not rejoin. Only phrases that never occur inside ordinary text.
COMPACT_PHRASES = re.compile(
    r"ignor\w{0,3}(?:all|any)?(?:the)?(?:previous|prior|above)(?:instructions|rules|prompts)|"
    r"disregard(?:all)?(?:previous|prior|above)|forgeteverything(?:above|before)|revealyoursystemprompt|"
    r"systemprompt(?:reveal|print|show)|doanythingnow|developermode|jailbreak|"
    r"ignorainstrucciones|ignoriereallevorherigenanweisungen|ignorezlesinstructions"
)
