"""The `genai-stack` command: a thin face over the runtime (`functions`) and the training jobs.

Every subcommand imports what it needs inside itself, so `genai-stack --help` is instant.
Exit codes: 0 success, 1 some documents failed to ingest, 2 bad input or configuration.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from functions.rag.pipeline import Answer
    from functions.services import Services
    from functions.settings import Settings

EXIT_OK, EXIT_PARTIAL, EXIT_USAGE = 0, 1, 2
DEFAULT_QUESTIONS = Path("tests/fixtures/questions.jsonl")
DEFAULT_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"  # beside the checkout


class CliError(Exception):
    """A problem the user can fix; printed without a traceback."""


def _settings(args: argparse.Namespace, configured: dict[str, Any] | None = None) -> Settings:
    """The settings from the environment and the command's options; `configured` (a configuration
    file's values, see `_configuration`) takes precedence over both."""
    from pydantic import ValidationError

    from functions.settings import Settings

    overrides: dict[str, Any] = {}
    if getattr(args, "data_dir", None) is not None:
        overrides["data_dir"] = args.data_dir
    allowed = list(getattr(args, "pii_allow", None) or [])
    allow_file: Path | None = getattr(args, "pii_allow_file", None)
    if allow_file is not None:
        if not allow_file.is_file():
            raise CliError(f"PII allow-list file {allow_file} not found")
        lines = (line.strip() for line in allow_file.read_text(encoding="utf-8").splitlines())
        allowed.extend(line for line in lines if line and not line.startswith("#"))
    if allowed:
        overrides["pii_allowlist"] = tuple(allowed)
    try:
        return Settings(**(overrides | (configured or {})))
    except ValidationError as error:
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'settings'}: {e['msg']}" for e in error.errors()
        )
        raise CliError(f"invalid configuration: {problems}") from error


def _services_with_index(args: argparse.Namespace, settings: Settings | None = None) -> Services:
    """Services over an existing, non-empty index, or a CliError saying how to make one."""
    from functions.contract import VectorStoreKind
    from functions.services import Services

    settings = settings or _settings(args)
    services = Services(settings)
    if settings.vector_store is VectorStoreKind.EMBEDDED:
        if not settings.data_dir.is_dir():
            raise CliError(
                f"data directory {settings.data_dir} does not exist: run `genai-stack ingest PATH --data-dir "
                f"{settings.data_dir}` first"
            )
        if services.vector_store.count() == 0:
            raise CliError(f"the index in {settings.data_dir} is empty: run `genai-stack ingest PATH` first")
    return services


def _print_json(payload: Any) -> None:
    print(json.dumps(payload, indent=2, ensure_ascii=False))


# --- subcommands ------------------------------------------------------------------------------


def cmd_ingest(args: argparse.Namespace) -> int:
    from functions.services import Services

    settings = _settings(args)
    services = Services(settings)
    ingestor = services.ingestor
    report = ingestor.ingest_paths(args.paths, prune=args.prune, show_progress=not args.quiet)
    summary = report.to_dict()
    if args.json:
        _print_json(summary)
    else:
        print(
            f"{summary['added']} added, {summary['updated']} updated, {summary['unchanged']} unchanged, "
            f"{summary['removed']} removed; {summary['chunks_indexed']} chunks indexed "
            f"({summary['duplicate_chunks']} duplicates skipped) in {summary['seconds']} s; "
            f"index: {services.vector_store.count()} chunks in {settings.index_dir}"
        )
        for source, problem in report.failed.items():
            print(f"failed: {source}: {problem}", file=sys.stderr)
    return EXIT_PARTIAL if report.failed else EXIT_OK


def cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from functions.api.app import all_routers, create_app

    services = _services_with_index(args)
    index = services.index_health()
    if index is not None and not index.healthy:  # an older good version is served (see /health)
        print(
            f"genai-stack: warning: {index.problem}; serving index version {index.version}", file=sys.stderr
        )
    services.embedder.embed_query("warm-up")  # load the model before the first request
    from functions.api.demo import demo_available, demo_router
    from functions.privacy.retention import purge_daily

    routers = all_routers() + ([demo_router()] if demo_available() else [])
    app = create_app(routers, services, flush_metrics_per_request=not args.quiet_metrics)
    purge_daily(services.sqlite, services.settings.retention_days)
    print(
        f"genai-stack serving {services.settings.data_dir} on http://{args.host}:{args.port} (docs at /docs)"
    )
    if demo_available():
        print(f"demo store page with the chat widget: http://{args.host}:{args.port}/")
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return EXIT_OK


def cmd_ask(args: argparse.Namespace) -> int:
    from functions.api.routes.query import to_response

    services = _services_with_index(args)
    answer = services.pipeline.answer(args.question, conversation_id=args.conversation)
    if args.json:
        _print_json(to_response(answer).model_dump(mode="json"))
        return EXIT_OK
    _print_answer(answer)
    print(f"\n(conversation {answer.conversation_id}: continue it with --conversation)")
    return EXIT_OK


def _print_answer(answer: Answer) -> None:
    if answer.resolved_question:
        print(f"(read as: {answer.resolved_question})")
    print(answer.answer)
    if answer.sources:
        print()
        for number, hit in enumerate(answer.sources, start=1):
            print(f"[{number}] {hit.chunk.title} ({hit.chunk.source}, score {hit.score:.3f})")


def cmd_chat(args: argparse.Namespace) -> int:
    """An interactive session: every question continues one conversation, so follow-ups work."""
    from functions.errors import InvalidRequestError

    services = _services_with_index(args)
    conversation_id = args.conversation
    print("Ask a question (an empty line or Ctrl-D ends the session).")
    while True:
        try:
            question = input("> ")
        except EOFError:
            print()
            break
        if not question.strip():
            break
        try:
            answer = services.pipeline.answer(question, conversation_id=conversation_id)
        except InvalidRequestError as error:
            print(f"genai-stack: {error}", file=sys.stderr)
            continue
        conversation_id = answer.conversation_id
        _print_answer(answer)
        print()
    if conversation_id:
        print(f"(conversation {conversation_id})")
    return EXIT_OK


def cmd_stats(args: argparse.Namespace) -> int:
    from functions.feedback.statistics import statistics

    payload = statistics(_services_with_index(args))
    if args.json:
        _print_json(payload)
    else:
        for key, value in payload.items():
            print(f"{key:>18}: {value}")
    return EXIT_OK


def cmd_eval(args: argparse.Namespace) -> int:
    from functions.evaluation import evaluate, load_questions
    from functions.feedback.sqlite_store import SQLiteStore

    if args.target == "guardrails":
        return cmd_eval_guardrails(args)
    if args.qa is not None:
        return cmd_eval_answers(args)
    if not args.questions.is_file():
        raise CliError(f"question set {args.questions} not found")
    services = _services_with_index(args)
    # keep evaluation out of the real history
    services.conversations = SQLiteStore(Path(":memory:"), services.pseudonymiser)
    report = evaluate(services.pipeline, load_questions(args.questions))
    _print_json(report.summary())
    return EXIT_OK


def cmd_eval_answers(args: argparse.Namespace) -> int:
    """`eval answers QA.jsonl`: the answer figures of one configuration, or two compared (issue 17)."""
    from functions.evaluation_answers import AnswerReport, evaluate_answers, format_table, load_qa
    from functions.evaluation_compare import compare
    from functions.evaluation_judge import AnswerJudge
    from functions.feedback.sqlite_store import SQLiteStore

    items = load_qa(args.qa)
    judge = AnswerJudge(_services_with_index(args).chat_model) if args.judge else None

    def run(configured: dict[str, Any] | None) -> AnswerReport:
        services = _services_with_index(args, _settings(args, configured))
        # keep evaluation out of the real history
        services.conversations = SQLiteStore(Path(":memory:"), services.pseudonymiser)
        return evaluate_answers(services.pipeline, items, judge)

    if args.compare is None:
        report = run(None)
        if args.json:
            _print_json(report.to_dict())
        else:
            print(format_table({"value": report.summary()}))
    else:
        paths: list[Path] = args.compare
        names = (paths[0].stem, paths[1].stem) if paths[0].stem != paths[1].stem else ("A", "B")
        configurations = [_configuration(path) for path in paths]
        reports = [run(configured) for configured in configurations]
        comparison = compare(reports[0], reports[1], names, alpha=args.alpha)
        if args.json:
            _print_json(comparison.to_dict() | {"A": reports[0].summary(), "B": reports[1].summary()})
        else:
            rows = comparison.metrics
            print(
                format_table(
                    {
                        f"A: {names[0]}"[:14]: {m.metric: m.a for m in rows},
                        f"B: {names[1]}"[:14]: {m.metric: m.b for m in rows},
                        "pairs": {m.metric: m.pairs for m in rows},
                        "p-value": {m.metric: m.p_value for m in rows},
                        "better": {m.metric: m.better or "-" for m in rows},
                    }
                )
            )
            print(f"\nverdict: {comparison.verdict}")
    if judge is not None and judge.unparsed:
        print(
            f"genai-stack: warning: {judge.unparsed} judge replies held no grade (is "
            "GENAI_STACK_CHAT_MODEL an LLM? the extractive answerer cannot judge)",
            file=sys.stderr,
        )
    return EXIT_OK


def _configuration(path: Path) -> dict[str, Any]:
    """A configuration file's settings (YAML or JSON: setting names, or their GENAI_STACK_
    variable names, to values), checked against the settings' fields; Settings validates the values."""
    import yaml

    from functions.contract import ENV_PREFIX
    from functions.settings import Settings

    if not path.is_file():
        raise CliError(f"configuration file {path} not found")
    try:
        values = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as error:
        raise CliError(f"configuration file {path} is not YAML or JSON: {error}") from error
    if not isinstance(values, dict):
        raise CliError(f"configuration file {path} must hold a mapping of setting names to values")
    configured: dict[str, Any] = {}
    for key, value in values.items():
        name = str(key).lower().removeprefix(ENV_PREFIX.lower())
        if name not in Settings.model_fields:
            raise CliError(f"configuration file {path}: {key!r} is not a setting")
        configured[name] = value
    return configured


def cmd_eval_guardrails(args: argparse.Namespace) -> int:
    """Per-category precision, recall and F1 (F2 for PII) and per-detector latency."""
    from functions.guardrails.evaluation import evaluate_all
    from functions.guardrails.policy import GuardrailPolicy

    if not (args.datasets / "prompt_injection").is_dir():
        raise CliError(f"shared data sets not found in {args.datasets}: pass --datasets")
    from functions.services import Services

    services = Services(_settings(args))
    guardrails = services.guardrails
    if not isinstance(guardrails, GuardrailPolicy):
        raise CliError("eval guardrails measures the embedded engine: unset GENAI_STACK_GUARDRAIL_ENGINE")
    _print_json(evaluate_all(guardrails, args.datasets, services.embedder))
    return EXIT_OK


def cmd_export(args: argparse.Namespace) -> int:
    from functions.feedback.export import LocalFolder, export_training_data

    services = _services_with_index(args)
    folder: Path = args.output_dir or services.settings.exports_dir
    report = export_training_data(
        services.conversations,
        services.feedback_store,
        services.review_store.iter_choices(),
        LocalFolder(folder),
    )
    print(f"{report.interactions} interactions written to {report.interactions_at}")
    print(f"{report.review_pairs} reviewers' preference pairs written to {report.review_pairs_at}")
    return EXIT_OK


def _reviewer_name(args: argparse.Namespace) -> str:
    return str(args.reviewer or os.environ.get("USER") or "operator")


def cmd_review(args: argparse.Namespace) -> int:
    """Judge pairs in the terminal, as the operator (the reviewer id a local token of that name has)."""
    from functions.errors import ConflictError
    from functions.feedback.reviews import Choice
    from functions.services import Services

    reviews = Services(_settings(args)).reviews
    reviewer = f"local:{_reviewer_name(args)}"
    keys = {"a": Choice.A, "b": Choice.B, "t": Choice.TIE}
    judged = 0
    while (pair := reviews.next_pair(reviewer)) is not None:
        print(f"\nQuestion: {pair.question}\n\n--- A ---\n{pair.answer_a}\n\n--- B ---\n{pair.answer_b}\n")
        try:
            key = input("Which is better? [a/b/t(ie), empty line to stop] ").strip().lower()
            if not key:
                break
            if key not in keys:
                print("genai-stack: answer a, b or t", file=sys.stderr)
                continue
            note = input("Note (optional): ").strip() or None
        except EOFError:
            print()
            break
        try:
            reviews.record(reviewer, pair.pair_id, keys[key], note)
        except ConflictError as error:  # judged meanwhile on the page, as the same reviewer
            print(f"genai-stack: {error}", file=sys.stderr)
            continue
        judged += 1
    print(f"{judged} pairs judged" + ("" if pair is not None else "; nothing left to review"))
    return EXIT_OK


def cmd_review_token(args: argparse.Namespace) -> int:
    from functions.services import Services

    try:
        token = Services(_settings(args)).reviewer_tokens.issue(args.name)
    except ValueError as error:
        raise CliError(str(error)) from error
    print(token)
    return EXIT_OK


def _overrides(pairs: Sequence[str]) -> dict[str, str]:
    overrides = {}
    for pair in pairs:
        key, separator, value = pair.partition("=")
        if not separator or not key.strip():
            raise CliError(f"expected SETTING=VALUE (a field of functions/settings.py), not {pair!r}")
        overrides[key.strip().lower().removeprefix("genai_stack_")] = value
    return overrides


def _label(overrides: dict[str, str]) -> str:
    """A configuration's name in the export: its overrides, or `current` for the settings as they are."""
    return ",".join(f"{key}={value}" for key, value in sorted(overrides.items())) or "current"


def _configured(args: argparse.Namespace, overrides: dict[str, str]) -> Services:
    """Services with the settings overridden, answering without storing the conversation."""
    from pydantic import ValidationError

    from functions.feedback.sqlite_store import SQLiteStore
    from functions.services import Services
    from functions.settings import Settings

    base = _settings(args)
    try:
        settings = Settings(**{**base.model_dump(), **overrides})
    except ValidationError as error:
        raise CliError(f"invalid configuration {overrides}: {error.errors()[0]['msg']}") from error
    services = Services(settings)
    services.conversations = SQLiteStore(Path(":memory:"), services.pseudonymiser)  # not real history
    return services


def cmd_review_pairs(args: argparse.Namespace) -> int:
    """Answer each question with two configurations and store the pairs whose answers differ."""
    from functions.feedback.reviews import generate_pairs

    if not args.questions.is_file():
        raise CliError(f"question file {args.questions} not found")
    questions = []
    for number, line in enumerate(args.questions.read_text(encoding="utf-8").splitlines(), start=1):
        if line.strip():
            try:
                questions.append(str(json.loads(line)["question"]))
            except (json.JSONDecodeError, KeyError, TypeError) as error:
                raise CliError(
                    f"{args.questions}:{number}: expected a JSON object with a question"
                ) from error
    services = _services_with_index(args)
    a, b = _overrides(args.a), _overrides(args.b)
    if a == b:
        raise CliError("the two configurations are the same: give --b SETTING=VALUE (and --a)")
    first, second = _configured(args, a).pipeline, _configured(args, b).pipeline
    pairs = generate_pairs(
        services.reviews,
        questions,
        (_label(a), lambda question: first.answer(question).answer),
        (_label(b), lambda question: second.answer(question).answer),
    )
    print(
        f"{len(pairs)} pairs to review from {len(questions)} questions ({_label(a)} vs {_label(b)}); "
        "the other questions got the same answer twice"
    )
    return EXIT_OK


def cmd_erase(args: argparse.Namespace) -> int:
    from functions.privacy.erasure import Requester
    from functions.services import Services

    services = Services(_settings(args))
    report = services.eraser.erase(args.user_id, Requester.OPERATOR)
    if args.json:
        _print_json({"erasure_id": report.erasure_id, "counts": report.counts, "total": report.total})
    else:
        counts = ", ".join(f"{count} {kind}" for kind, count in report.counts.items())
        print(f"erased {counts} (audit record {report.erasure_id})")
    return EXIT_OK


def cmd_purge(args: argparse.Namespace) -> int:
    from functions.privacy.retention import purge
    from functions.services import Services

    services = Services(_settings(args))
    days: int = args.older_than or services.settings.retention_days
    counts = purge(services.sqlite, days)
    print(f"purged data older than {days} days: " + ", ".join(f"{n} {kind}" for kind, n in counts.items()))
    return EXIT_OK


def cmd_train(args: argparse.Namespace) -> int:
    from training_jobs.cli import main as train_main

    return train_main(args.train_args)


# --- parser -----------------------------------------------------------------------------------


def _positive_days(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"expected a whole number of days, at least 1, not {text!r}")
    return int(text)


def _data_dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the index and SQLite database live (default: $GENAI_STACK_DATA_DIR or .genai-stack)",
    )


def _conversation_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--conversation", metavar="ID", help="continue this conversation (its id is printed after an answer)"
    )


def _add_privacy_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`erase` and `purge`: a user's data on request, and everything past the retention period."""
    erase = commands.add_parser(
        "erase",
        help="erase one user's data (conversations, feedback, tickets, export rows)",
        description="Erase everything kept about one user, print the counts per store and leave an audit "
        "record. A second run finds nothing.",
    )
    erase.add_argument("user_id", metavar="USER_ID", help="the user's id (the token's sub in AWS)")
    _data_dir_option(erase)
    erase.add_argument("--json", action="store_true", help="print the report as JSON")
    erase.set_defaults(func=cmd_erase)

    purge = commands.add_parser(
        "purge",
        help="delete conversations older than the retention period",
        description="Delete conversations whose last turn is older than DAYS, with their feedback and "
        "tickets (`genai-stack serve` does this daily with the retention setting).",
    )
    purge.add_argument(
        "--older-than",
        type=_positive_days,
        default=None,
        metavar="DAYS",
        help="age in days (default: $GENAI_STACK_RETENTION_DAYS, 365)",
    )
    _data_dir_option(purge)
    purge.set_defaults(func=cmd_purge)


def _add_review_commands(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`review`: judge pairs of answers; `review pairs` makes them, `review token` signs a reviewer in."""
    review = commands.add_parser(
        "review",
        help="compare two answers to one question and record the better one (human preferences)",
        description="Show pairs of answers one by one and record which is better (a, b or t for a tie) "
        "with an optional note. `review pairs` makes pairs; `review token` prints a token for the reviewer "
        "page at /review.",
    )
    _data_dir_option(review)
    review.add_argument("--reviewer", metavar="NAME", help="who judges (default: $USER)")
    review.set_defaults(func=cmd_review)
    actions = review.add_subparsers(dest="review_action", metavar="ACTION")

    token = actions.add_parser("token", help="print a reviewer token for the page and API (local server)")
    token.add_argument("name", metavar="NAME", help="the reviewer's name (letters, digits, _ - @)")
    _data_dir_option(token)
    token.set_defaults(func=cmd_review_token)

    pairs = actions.add_parser(
        "pairs",
        help="answer questions with two configurations and store the pairs to review",
        description="Answer each question of a JSON-lines file (a `question` per line) with configuration A "
        "and configuration B (settings overridden with SETTING=VALUE, e.g. max_answer_sentences=1, "
        "chat_model=local-checkpoint) and store the pairs whose answers differ.",
    )
    pairs.add_argument("questions", type=Path, metavar="QUESTIONS.jsonl")
    pairs.add_argument("--a", action="append", default=[], metavar="SETTING=VALUE", help="configuration A")
    pairs.add_argument("--b", action="append", default=[], metavar="SETTING=VALUE", help="configuration B")
    _data_dir_option(pairs)
    pairs.set_defaults(func=cmd_review_pairs)


def _add_eval_command(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """`genai-stack eval`: retrieval and answers on a labelled set, a QA set, or the guardrails."""
    evaluation = commands.add_parser(
        "eval",
        help="measure retrieval and answers on a labelled question set",
        description="Recall@k, MRR, answer accuracy and hand-off rates on a labelled set (JSONL); "
        "the hand-off rate is also measured with each answerable question's document left out; "
        "each question kind (direct, paraphrase, followup, unanswerable) is also reported on its own.",
    )
    _data_dir_option(evaluation)
    evaluation.add_argument(
        "target",
        nargs="?",
        choices=("answers", "guardrails"),
        default="answers",
        help="what to measure: answers (default) or guardrails (per category, and detector latency)",
    )
    evaluation.add_argument(
        "--datasets",
        type=Path,
        default=DEFAULT_DATASETS,
        help="the shared data sets folder, for eval guardrails (default: ../shared/datasets)",
    )
    evaluation.add_argument(
        "qa",
        nargs="?",
        type=Path,
        metavar="QA.jsonl",
        help="eval answers: a question-and-answer set (question, reference answer, doc, key_facts): "
        "retrieval hit rate, key-fact match, groundedness, citations, hand-off correctness",
    )
    evaluation.add_argument("--json", action="store_true", help="eval answers QA.jsonl: print JSON")
    evaluation.add_argument(
        "--judge", action="store_true", help="eval answers QA.jsonl: grade answers with the chat model"
    )
    evaluation.add_argument(
        "--compare",
        nargs=2,
        type=Path,
        metavar=("CONFIG_A", "CONFIG_B"),
        help="eval answers QA.jsonl: compare two configurations (YAML or JSON settings files)",
    )
    evaluation.add_argument(
        "--alpha", type=float, default=0.05, help="significance level of --compare (default 0.05)"
    )
    evaluation.add_argument(
        "--questions",
        type=Path,
        default=DEFAULT_QUESTIONS,
        help=f"labelled questions (default {DEFAULT_QUESTIONS})",
    )
    evaluation.set_defaults(func=cmd_eval)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="genai-stack",
        description="A grounded customer-support assistant: ingest, serve, ask, evaluate, export, train.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    ingest = commands.add_parser(
        "ingest",
        help="index Markdown, text, HTML and JSON/JSONL FAQ files",
        description="Clean, redact PII, chunk, embed and index documents. Unchanged files are skipped; "
        "changed files replace their chunks.",
    )
    ingest.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="files or folders to ingest")
    _data_dir_option(ingest)
    ingest.add_argument(
        "--prune", action="store_true", help="remove indexed files that no longer exist in PATH"
    )
    ingest.add_argument(
        "--pii-allow",
        action="append",
        metavar="VALUE",
        help="a public value never to redact, e.g. the support e-mail, or @domain (repeatable)",
    )
    ingest.add_argument(
        "--pii-allow-file", type=Path, metavar="FILE", help="a file of such values, one per line (# comments)"
    )
    ingest.add_argument("--json", action="store_true", help="print the report as JSON")
    ingest.add_argument("--quiet", action="store_true", help="no progress bar")
    ingest.set_defaults(func=cmd_ingest)

    serve = commands.add_parser(
        "serve", help="serve the HTTP API with every route", description="Serve the API (uvicorn)."
    )
    _data_dir_option(serve)
    serve.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1)")
    serve.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    serve.add_argument("--quiet-metrics", action="store_true", help="do not print EMF metric lines")
    serve.set_defaults(func=cmd_serve)

    ask = commands.add_parser(
        "ask", help="answer one question in the terminal", description="Answer one question."
    )
    ask.add_argument("question", help="the question, in quotes")
    _data_dir_option(ask)
    ask.add_argument("--json", action="store_true", help="print the full API response as JSON")
    _conversation_option(ask)
    ask.set_defaults(func=cmd_ask)

    chat = commands.add_parser(
        "chat",
        help="an interactive question-and-answer session in the terminal",
        description="Ask questions one after another in one conversation; follow-ups are resolved "
        "against the earlier turns.",
    )
    _data_dir_option(chat)
    _conversation_option(chat)
    chat.set_defaults(func=cmd_chat)

    stats = commands.add_parser(
        "stats", help="index size and feedback counts", description="Show statistics."
    )
    _data_dir_option(stats)
    stats.add_argument("--json", action="store_true", help="print as JSON")
    stats.set_defaults(func=cmd_stats)

    _add_eval_command(commands)

    export = commands.add_parser(
        "export",
        help="write conversations and feedback as training data (JSONL)",
        description="Export answered questions with their ratings, escalations and rephrases "
        "(interactions.jsonl) and reviewers' preference pairs (review_pairs.jsonl), PII redacted, "
        "as the input of `genai-stack train data --export_path FOLDER`.",
    )
    _data_dir_option(export)
    export.add_argument(
        "--output-dir",
        type=Path,
        default=None,
        help="the folder to write both files to (default: DATA_DIR/exports, where erasure looks)",
    )
    export.set_defaults(func=cmd_export)

    _add_privacy_commands(commands)
    _add_review_commands(commands)

    train = commands.add_parser(
        "train",
        help="training jobs: pretrain, finetune, reward, policy, dpo, launch",
        description="Training jobs; run `genai-stack train --help` for the list.",
        add_help=False,
    )
    train.add_argument("train_args", nargs=argparse.REMAINDER)
    train.set_defaults(func=cmd_train)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["train"]:  # the training CLI parses its own arguments, --help included
        return cmd_train(argparse.Namespace(train_args=arguments[1:]))
    args = build_parser().parse_args(arguments)
    from functions.errors import GenAiStackError
    from functions.observability import logger

    # Terminal output is the answer or the report; the server keeps its per-request log lines and
    # EMF metrics. Elsewhere Powertools would print EMF to stdout once a metric holds 100 values,
    # into the middle of `eval` or `ask --json` output.
    serving = args.command == "serve"
    logger.setLevel(os.environ.get("POWERTOOLS_LOG_LEVEL", "INFO" if serving else "WARNING"))
    if not serving:
        os.environ.setdefault("POWERTOOLS_METRICS_DISABLED", "true")

    func: Callable[[argparse.Namespace], int] = args.func
    try:
        return func(args)
    except (CliError, GenAiStackError) as error:
        print(f"genai-stack: error: {error}", file=sys.stderr)
        return EXIT_USAGE


if __name__ == "__main__":
    sys.exit(main())
