"""An optional LLM judge, as the paper used one: does an attempt's final answer match one of the gold answers?

The paper had gpt-4o-mini read each attempt and the gold answer(s) and return the index of the matching gold
answer or −1, forgiving formatting, units and trivially equivalent forms (PAPER.md, "Grading"). This module asks
any OpenAI-compatible chat endpoint the same question (a hosted API, or a local vLLM server:
``vllm serve <model>`` then ``judge_base_url="http://localhost:8000/v1"``). The API key is read from the
environment variable the config names, at call time; it is never written to a config, a table or a log.
Used by ``lpts_helpers.engine.evaluation`` when a judge is configured; the evaluation chapter reports its agreement with
math-verify. ``Endpoint`` is also the base of the self-reflection judge (``lpts_helpers.methods.analysis``).
"""

from __future__ import annotations

import json
import os
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from ..core.config import ConfigError

JUDGE_PROMPT_VERSION = 1

_SYSTEM = ("You check answers to math problems. You are given a problem, a student's attempt and a numbered list of "
           "correct answers. Decide whether the final answer of the attempt is equivalent to one of the correct "
           "answers. Ignore formatting, LaTeX, units and trivially equivalent forms (0.5 and 1/2, x = 3 and 3). "
           "Judge only the final answer, not the reasoning. Reply with the number of the matching correct answer, "
           "or -1 if none matches, and nothing else.")


ALLOW_PLAIN_HTTP = "LPTS_JUDGE_ALLOW_PLAIN_HTTP"  # set to 1 to send the key over plain http to another machine
LOOPBACK = ("localhost", "127.0.0.1", "::1")


def check_endpoint(base_url: str) -> None:
    """A judge endpoint must be https, or plain http on this machine (a local vLLM server), so the API key never
    crosses a network unencrypted unless the user says so (``LPTS_JUDGE_ALLOW_PLAIN_HTTP=1``)."""
    parts = urllib.parse.urlsplit(base_url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigError(f"judge_base_url={base_url!r} is not an http(s) URL; allowed: e.g. "
                          f"https://api.openai.com/v1 or http://localhost:8000/v1")
    local = parts.hostname in LOOPBACK or parts.hostname.startswith("127.")
    if parts.scheme == "http" and not local and os.environ.get(ALLOW_PLAIN_HTTP) != "1":
        raise ConfigError(f"judge_base_url={base_url!r} would send the API key unencrypted to another machine; "
                          f"allowed: https://, plain http on this machine ({', '.join(LOOPBACK)}), or set "
                          f"{ALLOW_PLAIN_HTTP}=1 to accept the risk")


@dataclass(frozen=True)
class Endpoint:
    """Where an LLM judge runs: an OpenAI-compatible endpoint, the model, and the name of the environment variable
    holding the key (read at call time, never stored)."""

    base_url: str
    model: str
    api_key_env: str = "OPENAI_API_KEY"
    timeout_s: float = 60.0

    def __post_init__(self) -> None:
        check_endpoint(self.base_url)

    def chat(self, messages: list[dict[str, str]], *, max_tokens: int) -> str:
        """One reply at temperature 0."""
        body = {"model": self.model, "messages": messages, "temperature": 0.0, "max_tokens": max_tokens}
        headers = {"Content-Type": "application/json"}
        key = os.environ.get(self.api_key_env)
        if key:
            headers["Authorization"] = f"Bearer {key}"
        request = urllib.request.Request(self.base_url.rstrip("/") + "/chat/completions",
                                         data=json.dumps(body).encode(), headers=headers, method="POST")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout_s) as response:
                return json.loads(response.read())["choices"][0]["message"]["content"] or ""
        except (urllib.error.URLError, TimeoutError, KeyError, IndexError, json.JSONDecodeError) as err:
            raise RuntimeError(f"the judge at {self.base_url} (model {self.model!r}) did not answer: {err}") from err


@dataclass(frozen=True)
class Judge(Endpoint):
    """The answer judge: does an attempt's final answer match one of the gold answers?"""

    max_attempt_chars: int = 8000  # the attempt's tail: the final answer is at the end

    def messages(self, question: str, attempt: str, golds: list[str]) -> list[dict[str, str]]:
        listed = "\n".join(f"{i}. {gold}" for i, gold in enumerate(golds))
        user = (f"Problem:\n{question}\n\nAttempt (its end):\n{attempt[-self.max_attempt_chars:]}\n\n"
                f"Correct answers:\n{listed}")
        return [{"role": "system", "content": _SYSTEM}, {"role": "user", "content": user}]

    def match(self, question: str, attempt: str, golds: list[str]) -> int:
        """The index of the gold answer the attempt matches, or −1 (also for a reply that is not an index)."""
        return parse_reply(self.chat(self.messages(question, attempt, golds), max_tokens=8), len(golds))


def parse_reply(reply: str, n_golds: int) -> int:
    """The judge's index: the first integer in the reply if it names a gold answer, else −1."""
    found = re.search(r"-?\d+", reply or "")
    index = int(found.group()) if found else -1
    return index if 0 <= index < n_golds else -1
