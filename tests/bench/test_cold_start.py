"""Finding the Lambda handlers, reading `-X importtime`, measuring folders."""

from __future__ import annotations

from pathlib import Path

from bench.cold_start import handler_modules, import_cost_by_package, tree_size


def test_handlers_are_the_modules_defining_a_top_level_handler(tmp_path: Path) -> None:
    (tmp_path / "query.py").write_text("from x import router\n\nhandler = make(router)\n")
    (tmp_path / "ingest.py").write_text("@decorated\ndef handler(event, context):\n    pass\n")
    (tmp_path / "helpers.py").write_text("def lambda_handler_for(router):\n    def handler(e, c): ...\n")
    (tmp_path / "__init__.py").write_text('"""Handlers."""\n')
    assert handler_modules(tmp_path) == ["ingest", "query"]


def test_the_project_handlers_are_found() -> None:
    assert {"query", "retrieval", "guardrails", "feedback"} <= set(handler_modules())


def test_import_costs_add_self_time_per_top_level_package() -> None:
    stderr = "\n".join(
        [
            "import time: self [us] | cumulative | imported package",
            "import time:       500 |        500 |     pydantic.main",
            "import time:      1500 |       2000 |   pydantic",
            "import time:      3000 |       3000 |   fastapi.routing",
            "some other line",
        ]
    )
    assert import_cost_by_package(stderr) == {"fastapi": 3.0, "pydantic": 2.0}


def test_tree_size_counts_sources_and_bytecode_apart(tmp_path: Path) -> None:
    (tmp_path / "pkg" / "__pycache__").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_bytes(b"x" * 10)
    (tmp_path / "pkg" / "__pycache__" / "a.cpython-311.pyc").write_bytes(b"x" * 7)
    assert tree_size(tmp_path) == 10
    assert tree_size(tmp_path, bytecode=True) == 7
