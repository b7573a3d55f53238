"""The console's display helpers: JSON as escaped key/value tables, badges, and alerts."""

from apps.core.admin_display import kv_table, progress_bar, records_table, short_id, status_badge


def test_a_dict_is_a_key_value_table_and_nested_dicts_nest():
    html = kv_table({"totals": {"written": 3}, "ok": True, "files": ["a.jsonl", "b.jsonl"]})
    assert html.count('<table class="lh-kv">') == 2
    assert "<th>written</th><td>3</td>" in html and "a.jsonl, b.jsonl" in html and "lh-badge-ok" in html


def test_a_list_of_dicts_is_one_table_with_a_column_per_key():
    html = records_table([{"line": 1, "reason": "bad"}, {"line": 2, "worker_id": "W-1"}])
    assert "<th>line</th><th>reason</th><th>worker_id</th>" in html and html.count("<tr>") == 3


def test_everything_is_escaped():
    html = kv_table({"<b>key</b>": "<script>alert(1)</script>"})
    assert "<script>" not in html and "&lt;script&gt;" in html and "&lt;b&gt;key&lt;/b&gt;" in html


def test_empty_values_show_a_dash_and_deep_values_fall_back_to_json():
    assert "—" in kv_table({}) and "—" in kv_table(None)
    assert "<pre" in kv_table({"a": {"b": {"c": {"d": {"e": 1}}}}})


def test_badges_progress_and_short_ids():
    assert "lh-badge-bad" in status_badge("failed") and "lh-badge-ok" in status_badge("succeeded") and "lh-badge-busy" in status_badge("running")
    assert 'value="100.0"' in progress_bar(140) and 'value="0.0"' in progress_bar(None)
    assert short_id("rr_0a1b2c3d4e5f60718293a4b5") == '<span title="rr_0a1b2c3d4e5f60718293a4b5">rr_0a1b2c3d…</span>'
    assert short_id("rb_short") == "rb_short"


def test_highlighted_text_marks_each_span_and_escapes_the_rest():
    from apps.core.admin_display import highlighted_text

    text = "<b>SSN 123-45-6789</b> ok"
    findings = [{"code": "PII_SSN", "start": 7, "end": 18}, {"code": "X", "start": 8, "end": 10}, {"code": "SUBJECT"}]
    assert str(highlighted_text(text, findings)) == '&lt;b&gt;SSN <mark class="lh-mark" title="PII_SSN">123-45-6789</mark>&lt;/b&gt; ok'
    assert str(highlighted_text("plain", [])) == "plain"
