select id as product_id, order_id, name, {{ cents_to_dollars('price_cents') }} as price
from {{ source('raw', 'products') }}
