"""The README's curl examples: generated from the spec, up to date, and each one run with real
curl against the live stack, in order, answering its documented status."""

import shutil

import pytest

from contract_tests import curl_examples


def test_the_readme_has_the_current_examples():
    assert curl_examples.main(["--check"]) == 0, "run `make docs`"


def test_every_operation_has_an_example():
    examples = curl_examples.render()
    assert [e.operation_id for e in examples] == curl_examples.WORKFLOW
    assert all(e.command.startswith("curl ") for e in examples)


@pytest.mark.skipif(shutil.which("curl") is None, reason="needs the curl command")
def test_every_example_answers_its_documented_status(stack, tmp_path):
    stack.manage("seed_demo")  # the examples use the demo accounts and products, as after `make run`
    mailbox = stack.workdir / "mail"
    curl_examples.replay(
        stack.base_url,
        tmp_path,
        mail=lambda: "".join(m.read_text(errors="replace") for m in sorted(mailbox.glob("*"))),
    )
