"""Translations: one piece of content in several languages.

An asset may translate another (``Asset.translation_of_id`` names its original). The original
and its translations are one *piece*: a reader is shown the version in their language, or
the original when there is none in it, never two versions of one piece side by side.

The rules for a link (pure, ``link_problem``): not to itself, to an asset in another
language, to an original (no chains: a translation of a translation is linked to the first
original instead), one translation per language, and an asset that has translations is an
original and cannot become a translation itself.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Protocol, TypeVar

from sqlalchemy import ColumnElement, or_, select, true
from sqlalchemy.orm import Session

from content.models import Asset, AssetSlug, Status
from content.words import N_, Said


@dataclass(frozen=True, slots=True)
class Version:
    """An asset as the translation rules see it."""

    id: int | None
    title: str
    language: str
    translation_of_id: int | None = None

    @classmethod
    def of(cls, asset: Asset) -> Version:
        return cls(asset.id, asset.title, asset.language, asset.translation_of_id)


def link_problem(
    asset: Version,
    original: Version,
    *,
    own_translations: Sequence[Version] = (),
    siblings: Sequence[Version] = (),
    root: Version | None = None,
) -> Said | None:
    """Why ``asset`` cannot be linked as a translation of ``original``, or None.

    ``own_translations``: the assets that translate ``asset``; ``siblings``: those that
    translate ``original``; ``root``: the original of ``original`` when it is a translation.
    """
    if asset.id is not None and original.id == asset.id:
        return Said(N_("An asset cannot be a translation of itself."))
    if original.translation_of_id is not None:
        if root is not None:
            return Said(
                N_("“%(original)s” is itself a translation of “%(root)s”: link to that one."),
                original=original.title,
                root=root.title,
            )
        return Said(
            N_("“%(original)s” is itself a translation: link to its original."),
            original=original.title,
        )
    others = [t for t in own_translations if t.id != asset.id]
    if others:
        return Said(
            N_(
                "“%(title)s” translates this asset, so this asset is an original: unlink "
                "that translation first."
            ),
            title=others[0].title,
        )
    if original.language == asset.language:
        return Said(
            N_(
                "“%(original)s” is in the language chosen here: a translation is in another "
                "language than its original."
            ),
            original=original.title,
        )
    clash = next((t for t in siblings if t.language == asset.language and t.id != asset.id), None)
    if clash is not None:
        return Said(
            N_("“%(original)s” already has a translation in this language: “%(other)s”."),
            original=original.title,
            other=clash.title,
        )
    return None


def language_problem(asset: Version, own_translations: Sequence[Version]) -> Said | None:
    """Why an original cannot be in the language it is given (one of its translations is),
    or None."""
    clash = next(
        (t for t in own_translations if t.language == asset.language and t.id != asset.id),
        None,
    )
    if clash is None:
        return None
    return Said(
        N_(
            "“%(title)s” translates this asset into the language chosen here: an original "
            "and its translations need different languages."
        ),
        title=clash.title,
    )


class _Readable(Protocol):
    @property
    def language(self) -> str: ...

    @property
    def piece(self) -> str | int: ...


_R = TypeVar("_R", bound=_Readable)


def one_per_piece(versions: Iterable[_R], language: str | None) -> list[_R]:
    """Of each piece the version in ``language``, else the first given (keep the order).

    ``versions`` are the live versions of some pieces in the order they would be shown,
    each with its ``piece`` (the original's id or slug) and ``language``.
    """
    listed = list(versions)
    wanted = {v.piece for v in listed if v.language == language}
    shown: set[str | int] = set()
    kept = []
    for version in listed:
        if version.piece in shown:
            continue
        if version.piece in wanted and version.language != language:
            continue
        shown.add(version.piece)
        kept.append(version)
    return kept


# --- the database ------------------------------------------------------------------------------


LIVE = Status.PUBLISHED.value


def live() -> ColumnElement[bool]:
    return Asset.status == LIVE


def hidden_versions(versions: Iterable[tuple[int, int | None, str]], language: str) -> set[int]:
    """Of live versions (id, the original's id or None, language), the ids a reader of
    ``language`` is not shown: those in another language whose piece has one in theirs."""
    listed = list(versions)
    pieces_in_language = {
        original or asset_id for asset_id, original, lang in listed if lang == language
    }
    return {
        asset_id
        for asset_id, original, lang in listed
        if lang != language and (original or asset_id) in pieces_in_language
    }


def shown_in(session: Session, language: str) -> ColumnElement[bool]:
    """Live assets a reader of ``language`` is shown when they did not pick a language: those
    in it, and those whose piece has no live version in it.

    Only assets that take part in a translation can be hidden; they are read once (through
    the index on ``translation_of_id``) and the rest of the statement stays as fast as
    without languages."""
    columns = (Asset.id, Asset.translation_of_id, Asset.language, Asset.status)
    # Only the index on translation_of_id narrows these (a status condition would make SQLite
    # walk every published asset instead); the status is checked here.
    translated = select(Asset.translation_of_id).where(Asset.translation_of_id.is_not(None))
    rows = [
        *session.execute(select(*columns).where(Asset.translation_of_id.is_not(None))),
        *session.execute(select(*columns).where(Asset.id.in_(translated))),
    ]
    versions = [(i, original, lang) for i, original, lang, status in rows if status == LIVE]
    hidden = hidden_versions(versions, language)
    return Asset.id.not_in(sorted(hidden)) if hidden else true()


def versions(session: Session, asset: Asset, *, live_only: bool = True) -> list[Asset]:
    """The other versions of ``asset``'s piece (its original and the original's other
    translations, or its own translations), by language."""
    root = asset.translation_of_id or asset.id
    statement = select(Asset).where(
        Asset.id != asset.id, or_(Asset.id == root, Asset.translation_of_id == root)
    )
    if live_only:
        statement = statement.where(live())
    return sorted(session.scalars(statement), key=lambda a: (a.language, a.id))


def with_versions(session: Session, ranked: Sequence[int]) -> list[int]:
    """``ranked`` asset ids with the other live versions of each one's piece right after its
    first version found (a search that matched the English words of a piece also finds its
    German version, at the same place)."""
    if not ranked:
        return []
    found = session.execute(select(Asset.id, Asset.translation_of_id).where(Asset.id.in_(ranked)))
    hits: dict[int, int | None] = {asset_id: original for asset_id, original in found}
    roots = {hits[i] or i for i in ranked if i in hits}
    by_root: dict[int, list[int]] = {}
    rows = session.execute(
        select(Asset.id, Asset.translation_of_id)
        .where(live(), or_(Asset.id.in_(roots), Asset.translation_of_id.in_(roots)))
        .order_by(Asset.id)
    )
    for asset_id, original in rows:
        by_root.setdefault(original or asset_id, []).append(asset_id)
    return expand_versions(ranked, hits, by_root)


def expand_versions(
    ranked: Sequence[int],
    originals: Mapping[int, int | None],
    live_by_root: Mapping[int, list[int]],
) -> list[int]:
    """``with_versions`` over data at hand: ``originals`` gives the original's id (or None) of
    each ranked asset that exists, ``live_by_root`` the live versions of a piece by id."""
    expanded: list[int] = []
    seen: set[int] = set()
    for asset_id in ranked:
        if asset_id not in seen:
            seen.add(asset_id)
            expanded.append(asset_id)
        for member in live_by_root.get(originals.get(asset_id) or asset_id, ()):
            if member not in seen:
                seen.add(member)
                expanded.append(member)
    return expanded


def versions_by_asset(session: Session, assets: Sequence[Asset]) -> dict[int, list[Asset]]:
    """``versions`` for many assets at once (one query): asset id → its other live versions."""
    roots = {a.translation_of_id or a.id for a in assets}
    if not roots:
        return {}
    found = session.scalars(
        select(Asset).where(live(), or_(Asset.id.in_(roots), Asset.translation_of_id.in_(roots)))
    ).all()
    by_root: dict[int, list[Asset]] = {}
    for version in found:
        by_root.setdefault(version.translation_of_id or version.id, []).append(version)
    return {
        a.id: sorted(
            (v for v in by_root.get(a.translation_of_id or a.id, []) if v.id != a.id),
            key=lambda v: (v.language, v.id),
        )
        for a in assets
    }


def version_in(session: Session, asset: Asset, language: str) -> Asset:
    """The live version of ``asset``'s piece in ``language``, else ``asset`` itself."""
    if asset.language == language:
        return asset
    return next((a for a in versions(session, asset) if a.language == language), asset)


def translations_of(session: Session, asset_id: int) -> list[Asset]:
    """The assets that translate ``asset_id`` (any status)."""
    return list(
        session.scalars(
            select(Asset).where(Asset.translation_of_id == asset_id).order_by(Asset.language)
        )
    )


def originals(session: Session, exclude: int | None = None) -> list[Asset]:
    """Assets another may translate (no translation themselves, not archived), by title."""
    statement = select(Asset).where(
        Asset.translation_of_id.is_(None), Asset.status != Status.ARCHIVED.value
    )
    if exclude is not None:
        statement = statement.where(Asset.id != exclude)
    return sorted(session.scalars(statement), key=lambda a: (a.title.lower(), a.id))


def link(session: Session, asset: Asset, original_slug: str) -> Said | None:
    """Make ``asset`` a translation of the asset at ``original_slug`` ("": an original);
    the problem, when the rules refuse it (nothing changes then)."""
    own = [Version.of(t) for t in translations_of(session, asset.id)] if asset.id else []
    if not original_slug:
        problem = language_problem(Version.of(asset), own)
        if problem is None:
            asset.translation_of_id = None
        return problem
    original = session.scalar(select(Asset).where(Asset.slug == original_slug))
    if original is None:  # an address it had before
        original = session.scalar(
            select(Asset)
            .join(AssetSlug, AssetSlug.asset_id == Asset.id)
            .where(AssetSlug.slug == original_slug)
        )
    if original is None:
        return Said(N_("No asset has the address '%(slug)s'."), slug=original_slug)
    root = session.get(Asset, original.translation_of_id) if original.translation_of_id else None
    problem = link_problem(
        Version.of(asset),
        Version.of(original),
        own_translations=own,
        siblings=[Version.of(t) for t in translations_of(session, original.id)],
        root=Version.of(root) if root is not None else None,
    )
    if problem is None:
        asset.translation_of_id = original.id
    return problem
