select op.*, o.status from {{ ref('order_payments') }} op join {{ ref('stg_orders') }} o using (order_id)
