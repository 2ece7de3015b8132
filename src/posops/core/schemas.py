"""The base of every request body: a shape that refuses fields it does not know."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class InputModel(BaseModel):
    """A request body or query shape; an unknown field is a 422 naming it, never silently dropped."""

    model_config = ConfigDict(extra="forbid")
