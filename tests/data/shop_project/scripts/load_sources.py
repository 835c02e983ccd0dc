"""Load data/*.csv into schema raw of the project's DuckDB file (as the profile names it)."""

from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parents[1]
DB = ROOT / "warehouse" / "shop.duckdb"

con = duckdb.connect(str(DB))
con.execute("create schema if not exists raw")
for csv in sorted((ROOT / "data").glob("*.csv")):
    sql = f"create or replace table raw.{csv.stem} as select * from read_csv_auto(?)"
    con.execute(sql, [str(csv)])
    print(csv.stem, con.execute(f"select count(*) from raw.{csv.stem}").fetchone()[0])
con.close()
