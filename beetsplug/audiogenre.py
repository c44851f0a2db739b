"""beets plugin `audiogenre`: genres heard in the audio, by the tagger's model, inside the tool a beets user
already runs.

Enable it with ``plugins: audiogenre`` in beets' config. Each imported item is analysed (``auto``), and
``beet audiogenre [QUERY]`` analyses library items. The decision is the tagger's own
(``tagger.decision``), and by default it fills only empty genres, so a user's curated genres stay as
they are. beets writes the file's tags as it writes any field (``import.write``, ``-w``/``-W``). An
item's own genres from before the plugin changed them are kept in a flexible field, so
``beet audiogenre --undo QUERY`` puts them back where nobody changed the genres since. The model is
loaded on first use, so this plugin costs other beets commands nothing.
"""

from __future__ import annotations

import json
import optparse
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any

from beets import ui
from beets.library import Item
from beets.plugins import BeetsPlugin

if TYPE_CHECKING:
    from beets.importer import ImportSession, ImportTask
    from beets.library import Library

    from tagger.genres import Mode
    from tagger.model import GenreModel
    from tagger.outcome import OutcomeRule
    from tagger.scan_options import ScanOption

# Flexible fields. PREVIOUS: the item's own genres before this plugin first changed them, a JSON list; OURS:
# the genres the plugin last gave it (undo refuses once someone changed them since); MODEL_ID: whose they are.
PREVIOUS, OURS, MODEL_ID = "audiogenre_previous", "audiogenre_genres", "audiogenre_model"
# The tagger's own scan options that mean the same here, with their declared defaults and checks
# (``tagger.scan_options``): ``jobs`` serves `beet audiogenre`, ``map`` and ``allow`` are [genres]'s.
PLUGIN_OPTIONS = ("model", "mode", "top_k", "threshold", "min_confidence", "windows", "jobs", "map", "allow")


def _declared(name: str) -> ScanOption:
    from tagger.scan_options import BY_NAME, GENRE_SETTINGS

    return BY_NAME.get(name) or GENRE_SETTINGS[name]


def item_genres(item: Item) -> list[str]:
    """The item's genres: beets (from 2.7) keeps them as a list in ``genres`` and writes one tag value each."""
    return list(item.get("genres") or [])


def unchanged_since_tagged(item: Item) -> bool:
    """Whether the item still has the genres this plugin last gave it."""
    return OURS in item and item_genres(item) == json.loads(item[OURS])


class AudioGenrePlugin(BeetsPlugin):
    def __init__(self) -> None:
        super().__init__()
        self.config.add({"auto": True,  # analyse items as they are imported
                         **{name: _declared(name).default for name in PLUGIN_OPTIONS}})
        self._model: GenreModel | None = None
        if self.config["auto"].get(bool):
            self.import_stages = [self.imported]

    def commands(self) -> list[ui.Subcommand]:
        command = ui.Subcommand("audiogenre", help="set genres from the audio, with the genre tagger's model")
        command.parser.add_option("-p", "--pretend", action="store_true", help="show the changes, make none")
        command.parser.add_option("-m", "--mode", help="how predicted genres combine with an item's own: fill-empty, "
                                                       "merge or replace [default: config]")
        command.parser.add_option("-u", "--undo", action="store_true",
                                  help="put back the genres items had before this plugin changed them")
        command.func = self.command
        return [command]

    def command(self, lib: Library, options: optparse.Values, arguments: list[str]) -> None:
        items = list(lib.items(arguments))
        write = ui.should_write()
        if options.undo:
            self.undo(items, write, options.pretend)
        else:
            self.tag(items, write, options.pretend, options.mode, self._setting("jobs"))

    def imported(self, session: ImportSession, task: ImportTask) -> None:
        """An import stage: the importer writes the files' tags afterwards when ``import.write`` says so."""
        self.tag(task.imported_items(), write=False, pretend=False)

    def tag(self, items: Sequence[Item], write: bool, pretend: bool, mode: str | None = None, jobs: int = 1) -> None:
        """Give each of ``items`` the genres the tagger's outcome rule chooses (``tagger.outcome``: the same
        plan before listening, the same order and reasons as `tagger scan`); a file that cannot be analysed
        is reported and left alone, and the others go on."""
        from tagger.genres import Mode
        from tagger.outcome import Plan, Status, settled_before_listening

        combine_mode = Mode(self._checked("mode", mode) if mode else self._setting("mode"))
        plans = {str(item.filepath): (item, Plan(item_genres(item), item_genres(item))) for item in items}
        needed = [path for path, (_, plan) in plans.items() if settled_before_listening(plan, combine_mode) is None]
        if not needed:
            return
        model, rule = self._loaded(combine_mode)
        for path, scores, problem in self._analyses(needed, model, jobs):
            item, plan = plans[path]
            if problem:
                self._log.error("{}: {}", path, problem)
                continue
            outcome = rule.after_listening(plan, scores)
            if outcome.reason:
                self._log.info("{}: {}, left as it is: {}", path, outcome.status, outcome.reason)
            if outcome.status is not Status.WOULD_TAG:
                continue
            self._log.info("{}: {} (was: {})", path, ", ".join(outcome.genres), ", ".join(plan.existing) or "none")
            if pretend:
                continue
            if not unchanged_since_tagged(item):  # else PREVIOUS already holds the item's own genres
                item[PREVIOUS] = json.dumps(plan.existing, ensure_ascii=False)
            item[OURS] = json.dumps(outcome.genres, ensure_ascii=False)
            item[MODEL_ID] = model.info.model_id
            item["genres"] = outcome.genres
            self._save(item, write)

    def undo(self, items: Iterable[Item], write: bool, pretend: bool) -> None:
        """Put back the genres items had before this plugin changed them, unless someone changed them since."""
        for item in items:
            if PREVIOUS not in item:
                continue
            if not unchanged_since_tagged(item):
                self._log.warning("{}: genres changed since audiogenre set them ({}); left as they are",
                                  item.filepath, ", ".join(item_genres(item)) or "none")
                continue
            previous = json.loads(item[PREVIOUS])
            self._log.info("{}: back to {}", item.filepath, ", ".join(previous) or "none")
            if pretend:
                continue
            item["genres"] = previous
            for field in (PREVIOUS, OURS, MODEL_ID):
                del item[field]
            self._save(item, write)

    def _save(self, item: Item, write: bool) -> None:
        if write:
            item.try_write()
        item.store()

    def _setting(self, name: str) -> Any:
        """A declared option's value from beets' config, checked as the tagger checks its settings file."""
        return self._checked(name, self.config[name].get())

    @staticmethod
    def _checked(name: str, value: Any) -> Any:
        problem = _declared(name).problem(value)
        if problem:
            raise ui.UserError(f"audiogenre: {name} {problem}")
        return value

    def _loaded(self, mode: Mode) -> tuple[GenreModel, OutcomeRule]:
        """The model, loaded once on first use, and the outcome rule for ``mode``."""
        from tagger.decision import DecisionRule
        from tagger.outcome import OutcomeRule
        from tagger.scan_options import vocabulary_from

        if self._model is None:
            from tagger.model import GenreModel, ModelError, resolve_model

            try:
                self._model = GenreModel(resolve_model(self._setting("model")))
            except ModelError as error:  # one line from beets, not a traceback
                raise ui.UserError(f"audiogenre: {error}") from None
        vocabulary = vocabulary_from({name: self._setting(name) for name in ("map", "allow")})
        decision = DecisionRule.for_model(self._model.info, self._setting("threshold"), self._setting("min_confidence"),
                                          self._setting("top_k"), vocabulary)
        return self._model, OutcomeRule(decision, mode)

    def _analyses(self, paths: list[str], model: GenreModel, jobs: int) -> Iterable[tuple[str, Any, str]]:
        """(path, calibrated scores, why there are none) for each path, from worker processes (even for one
        file: a decoder that crashes must cost that file, never beets itself)."""
        from tagger.workers import analyze_in_processes

        windows = self._setting("windows") or model.info.inference_windows
        for analysis in analyze_in_processes(paths, jobs, str(model.path), windows):
            yield analysis.path, analysis.scores, analysis.error or analysis.skip_reason
