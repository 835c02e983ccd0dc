"""The Jinja macros every generated dbt project ships (macros/*.sql): path -> text.

Models whose Node.uses_macros is set call cents_to_dollars, sum_amounts and
make_label (so dbt renders them with Jinja at parse time instead of its static
parser); every incremental model calls incremental_filter.
"""

from __future__ import annotations

MACROS: dict[str, str] = {
    "macros/cents_to_dollars.sql": """\
{# Raw tables store money in cents; models work in dollars. #}
{% macro cents_to_dollars(column_name) -%}
    round(cast({{ column_name }} as double) / 100.0, 2)
{%- endmacro %}
""",
    "macros/sum_amounts.sql": """\
{# Sum of nullable amounts (left joins leave nulls), rounded like money. #}
{% macro sum_amounts(columns) -%}
    round(
        {%- for c in columns %} coalesce({{ c }}, 0){% if not loop.last %} +{% endif %}{% endfor -%}
    , 2)
{%- endmacro %}
""",
    "macros/make_label.sql": """\
{# A readable, unique label per row: '<model>-<id>'. #}
{% macro make_label(model_name, id_column) -%}
    '{{ model_name }}-' || cast({{ id_column }} as varchar)
{%- endmacro %}
""",
    "macros/incremental_filter.sql": """\
{# On a re-run, only rows newer than what the table holds: an incremental model
   is then a no-op on unchanged input, and a full build on the first run. #}
{% macro incremental_filter(id_column) -%}
{%- if is_incremental() %}
where {{ id_column }} > (select coalesce(max(id), 0) from {{ this }})
{%- endif %}
{%- endmacro %}
""",
}
