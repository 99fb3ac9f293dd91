"""The rows the Spark tests protect: the ORM suite's synthetic customers, with NULLs, mixed
lengths and full-width text, as a DataFrame of the plaintext types the ORM declares."""

from __future__ import annotations

from typing import Any

from tests.ext._support import sample

COLUMNS = [
    "name",
    "id_no",
    "id_no_bidx",
    "card_no",
    "mobile",
    "balance",
    "birth",
    "visits",
    "photo",
    "note",
    "mobile_year",
]
PLAIN = [
    "id",
    "name",
    "id_no",
    "card_no",
    "mobile",
    "balance",
    "birth",
    "visits",
    "photo",
    "note",
    "plain",
]
NAMES = ["李", "欧阳娜娜", "ＡＢＣ１２３ 全角", "x" * 3000, "", "Ünïcödé 测试 🙂"]


def rows(n: int) -> list[dict[str, Any]]:
    out = []
    for i in range(1, n + 1):
        s = {k: v for k, v in sample(i).items() if k in PLAIN}
        s["name"] = NAMES[i % len(NAMES)] + str(i) if i % 7 else None
        if i % 5 == 0:
            s["card_no"] = None
        if i % 6 == 0:
            s["mobile"] = None
            s["note"] = None
        if i % 11 == 0:
            s["id_no"] = None
            s["balance"] = None
        out.append(s)
    return out


def schema() -> Any:
    from pyspark.sql import types as T

    return T.StructType(
        [
            T.StructField("id", T.LongType(), False),
            T.StructField("name", T.StringType()),
            T.StructField("id_no", T.StringType()),
            T.StructField("card_no", T.StringType()),
            T.StructField("mobile", T.StringType()),
            T.StructField("balance", T.DecimalType(12, 2)),
            T.StructField("birth", T.DateType()),
            T.StructField("visits", T.LongType()),
            T.StructField("photo", T.BinaryType()),
            T.StructField("note", T.StringType()),
            T.StructField("plain", T.StringType()),
        ]
    )


def frame(spark: Any, n: int, partitions: int = 4) -> Any:
    data = [tuple(r[f] for f in PLAIN) for r in rows(n)]
    return spark.createDataFrame(data, schema()).repartition(partitions)
