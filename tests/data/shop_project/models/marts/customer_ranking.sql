select customer_id, lifetime_value, rank() over (order by lifetime_value desc) as rank
from {{ ref('customers') }}
