"""Per-dialect schemas: which pydantic model validates each section of a config.

The single source for validation, `vitscfg schema` (JSON Schema), `vitscfg
explain FIELD` and docs/fields.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from vitscfg.config.schema import daniil
from vitscfg.config.schema import data as d
from vitscfg.config.schema import model as m
from vitscfg.config.schema import train as t
from vitscfg.config.schema.base import Section, field
from vitscfg.config.schema.piper import PiperVoice
from vitscfg.config.schema.top import RvcTop

SECTIONS = ("train", "data", "model")


@dataclass(frozen=True)
class DialectSchema:
    name: str
    train: type[Section] | None
    data: type[Section] | None
    model: type[Section] | None
    # Top-level keys besides the sections that this fork (or its tools) reads.
    top_level: frozenset[str] = frozenset()
    whole: type[BaseModel] | None = None  # a config that is not train/data/model shaped
    # The top-level keys that are typed and documented (schema/top.py); also in top_level.
    top: type[Section] | None = None

    def __post_init__(self) -> None:
        if self.top is not None:
            keys = self.top_level | frozenset(self.top.model_fields)
            object.__setattr__(self, "top_level", keys)

    def section(self, name: str) -> type[Section] | None:
        return {"train": self.train, "data": self.data, "model": self.model}[name]


_COMMON_TOP = frozenset({"$schema"})

SCHEMAS: dict[str, DialectSchema] = {
    s.name: s
    for s in (
        DialectSchema(
            "vits", t.VitsTrain, d.VitsData, m.VitsModel, frozenset({"symbols", "speakers"})
        ),
        DialectSchema(
            "vits-chinese",
            t.VitsChineseTrain,
            d.VitsChineseData,
            m.VitsModel,
            frozenset({"symbols", "speakers"}),
        ),
        DialectSchema("vits2", t.Vits2Train, d.Vits2Data, m.Vits2Model),
        DialectSchema(
            "vits2-daniilrobnikov", daniil.DaniilTrain, daniil.DaniilData, daniil.DaniilModel
        ),
        DialectSchema("mb-istft-vits", t.MbIstftTrain, d.MbIstftData, m.MbIstftModel),
        DialectSchema("mb-istft-vits2", t.MbIstftTrain, d.Vits2Data, m.MbIstft2Model),
        DialectSchema(
            "bert-vits2",
            t.BertVits2Train,
            d.BertVits2Data,
            m.BertVits2Model,
            frozenset({"version"}),
        ),
        DialectSchema(
            "style-bert-vits2",
            t.StyleBertVits2Train,
            d.StyleBertVits2Data,
            m.BertVits2Model,
            frozenset({"version", "model_name"}),
        ),
        DialectSchema("melotts", t.MeloTrain, d.MeloData, m.MeloModel),
        DialectSchema(
            "gpt-sovits",
            t.GptSovitsTrain,
            d.GptSovitsData,
            m.GptSovitsModel,
            frozenset({"s2_ckpt_dir", "content_module", "name"}),
        ),
        DialectSchema(
            "so-vits-svc", t.SoVitsSvcTrain, d.SoVitsSvcData, m.SoVitsSvcModel, frozenset({"spk"})
        ),
        DialectSchema(
            "so-vits-svc-fork", t.SvcForkTrain, d.SoVitsSvcData, m.SvcForkModel, frozenset({"spk"})
        ),
        DialectSchema("rvc", t.RvcTrain, d.RvcData, m.RvcModel, top=RvcTop),
        DialectSchema("applio", t.RvcTrain, d.ApplioData, m.ApplioModel),
        DialectSchema("piper-voice", None, None, None, whole=PiperVoice),
        DialectSchema(
            "vitscfg", t.VitscfgTrain, d.VitscfgData, m.VitscfgModel, frozenset({"symbols"})
        ),
    )
}


def schema_for(dialect: str | None) -> DialectSchema:
    """The vits schema stands in for a dialect it does not know (every fork inherits
    its fields); the linter then judges only types and ranges (lint/rules/_validate.py)."""
    return SCHEMAS.get(dialect or "vits", SCHEMAS["vits"])


def whole_config_model(dialect: str) -> type[BaseModel]:
    """A model of the entire file, for JSON Schema export."""
    schema = schema_for(dialect)
    if schema.whole is not None:
        return schema.whole
    fields: dict[str, Any] = {
        "schema_": (
            str | None,
            Field(
                None,
                alias="$schema",
                description="JSON Schema of this file (lets editors validate it).",
            ),
        )
    }
    for name in SECTIONS:
        section = schema.section(name)
        if section is not None:
            fields[name] = (section, Field(..., description=f"The {name} section."))
    if schema.top is not None:
        for key, info in schema.top.model_fields.items():
            fields[key] = (info.annotation, info)
    title = "".join(part.capitalize() for part in dialect.replace("-", " ").split()) + "Config"
    return create_model(
        title, __config__=ConfigDict(extra="allow", title=f"vitscfg {dialect} config"), **fields
    )


__all__ = [
    "SCHEMAS",
    "SECTIONS",
    "DialectSchema",
    "Section",
    "field",
    "schema_for",
    "whole_config_model",
]
