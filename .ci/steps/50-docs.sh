# The docs site: MkDocs + mkdocstrings (pinned in the `docs` extra), warnings as errors.
# (The README's and the docs' code blocks run in the main test suite:
# tests/docs/test_docs_examples.py.)
python tools/extras.py docs | xargs -d "\n" pip install
timeout 600 mkdocs build --strict --site-dir "$(mktemp -d)"
