"""The categories the public form offers."""
from __future__ import annotations

from dataclasses import dataclass

from litestar import get
from routing.categories import active_categories, localised_name
from sqlmodel.ext.asyncio.session import AsyncSession


@dataclass
class CategoryOut:
    slug: str
    name: str


@get("/api/v1/categories", tags=["categories"], summary="Categories a citizen can choose")
async def list_categories(db_session: AsyncSession, lang: str = "fr") -> list[CategoryOut]:
    return [CategoryOut(c.slug, localised_name(c, lang)) for c in await active_categories(db_session)]
