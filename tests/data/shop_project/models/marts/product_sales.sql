select name, count(*) as sold, sum(price) as revenue from {{ ref('stg_products') }} group by all
