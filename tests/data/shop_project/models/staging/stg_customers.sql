select id as customer_id, first_name, last_name, country from {{ source('raw', 'customers') }}
