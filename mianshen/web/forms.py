"""Forms that keep their input: a page form refused for what was typed shows its own page again.

A handler names its form and how to draw the page the form sits on (`keep`) once it has read the
form. When the work then fails with a 400 or 422 (a WebError, a service's MianshenError, a request
validation error), the error handlers (web/errors.py) draw that page again instead of an error page:
status 400/422, still signed in, the message beside the input it is about (or at the head of the form
when the error names no input) and every typed value back in its input. Templates read this through
the `failed` object every page has (deps.page): `failed.error(form, input)` and
`failed.value(form, input, default)`. The JSON API keeps its JSON errors.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup, escape
from starlette.concurrency import run_in_threadpool

REDRAWN = (400, 422)  # the statuses that are the user's to fix; others (403, 404, 409) stay error pages


@dataclass(frozen=True)
class Failed:
    """What a refused form showed: which form, the message, the input it is about, what was typed."""

    form: str = ""
    message: str = ""
    field: str | None = None
    typed: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def error(self, form: str, name: str | None = None) -> Markup:
        """The message, at the place asked for: an input's own slot, or the form's head (name None)."""
        if not self.message or form != self.form or name != self.field:
            return Markup("")
        return Markup('<p class="field-error no" role="alert">{}</p>').format(self.message)

    def value(self, form: str, name: str, default: Any = "") -> str:
        """What was typed into the input when this form was refused, otherwise `default`."""
        if form == self.form and name in self.typed:
            return str(self.typed[name])  # escaped by the template, as every value
        return "" if default is None else str(default)

    def open(self, form: str) -> bool:
        """Whether this form was the one refused (a folded form unfolds to show its error)."""
        return bool(self.message) and form == self.form

    def chosen(self, form: str, name: str, value: Any) -> bool:
        """Whether an option or a check box was chosen when this form was refused."""
        got = self.typed.get(name) if form == self.form else None
        return got == str(value) or (isinstance(got, list) and str(value) in got)


NOTHING = Failed()


@dataclass(frozen=True)
class Kept:
    form: str
    draw: Callable[[], Response]  # the page the form sits on (it reads the store: run off the loop)
    typed: dict[str, Any]
    main: str | None  # the input an error naming none is about (a form with one text input)


def typed_values(form: Mapping[str, Any]) -> dict[str, Any]:
    """The text a person typed or chose (files and the CSRF token left out); repeated names as lists."""
    out: dict[str, Any] = {}
    items = form.multi_items() if hasattr(form, "multi_items") else form.items()
    for name, value in items:
        if name == "csrf_token" or not isinstance(value, str):
            continue
        if name not in out:
            out[name] = value
        else:
            out[name] = [*(out[name] if isinstance(out[name], list) else [out[name]]), value]
    return out


def keep(
    request: Request, form: str, draw: Callable[[], Response], typed: Mapping[str, Any], main: str | None = None
) -> None:
    """Remember how to show this form again should what was typed be refused."""
    request.state.kept_form = Kept(form, draw, typed_values(typed), main)


async def keep_form(request: Request, form: str, draw: Callable[[], Response], main: str | None = None) -> None:
    """`keep` with the request's own form (pages only; the API has no page to show again)."""
    if request.url.path.startswith("/api/"):
        return
    keep(request, form, draw, await request.form(), main)


async def again(request: Request, status: int, message: str, field: str | None = None) -> Response | None:
    """The form's page again with the error and the typed input, or None when there is no such form."""
    kept: Kept | None = getattr(request.state, "kept_form", None)
    if kept is None or status not in REDRAWN or request.url.path.startswith("/api/"):
        return None
    if "application/json" in request.headers.get("accept", ""):
        return None
    request.state.kept_form = None  # drawn once: an error while drawing is an ordinary error page
    first = field or kept.main  # an error naming its input is shown there; the others at the form's one input
    for where in dict.fromkeys((first, None)):  # an input without a slot for it: the form's head
        request.state.failed = Failed(kept.form, message, where, kept.typed)
        request.state.failed_status = status
        try:
            drawn = await run_in_threadpool(kept.draw)
        except Exception:  # the page itself cannot be drawn (a batch that does not exist): the error page
            break
        # a page that no longer has the form (the case left 公示 meanwhile) cannot show the message
        if str(escape(message)) in bytes(drawn.body).decode("utf-8", "replace"):
            return drawn
    request.state.failed, request.state.failed_status = NOTHING, None
    return None


def failed(request: Request) -> tuple[Failed, int | None]:
    """The refused form of this request (NOTHING when none) and the status its page answers with."""
    return getattr(request.state, "failed", NOTHING), getattr(request.state, "failed_status", None)
