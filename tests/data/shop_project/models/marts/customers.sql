select c.customer_id, c.first_name, c.last_name, k.name as country,
       count(op.order_id) as orders, coalesce(sum(op.amount), 0) as lifetime_value
from {{ ref('stg_customers') }} c
left join {{ ref('countries') }} k on k.code = c.country
left join {{ ref('order_payments') }} op using (customer_id)
group by all
