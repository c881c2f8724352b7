"""Text -> motion search over a captioned library of canonical clips (retrieval)."""
