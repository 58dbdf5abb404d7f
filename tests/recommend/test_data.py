import pandas as pd

from recommend.data import clean_transactions


def test_non_product_lines_are_dropped() -> None:
    # given: one good line and one line for each exclusion rule
    products = pd.DataFrame(
        {
            "product_id": [1, 2, 3, 4, 5],
            "department": ["GROCERY", "FUEL", "GROCERY", "MISCELLANEOUS", "GROCERY"],
            "product_category": ["SOUP", "FUEL", "COUPON/MISC ITEMS", "COUPON/MISC ITEMS", None],
        }
    )
    stamp = pd.Timestamp("2017-01-01 10:00")
    transactions = pd.DataFrame(
        {
            "household_id": [7, 7, 7, 7, 7, 7, 7, 7],
            "product_id": [1, 2, 3, 4, 5, 99, 1, 1],
            "quantity": [2, 1, 1, 1, 1, 1, 0, 1],
            "sales_value": [3.5, 20.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0],
            "transaction_timestamp": [stamp] * 8,
        }
    )

    # when
    interactions = clean_transactions(transactions, products)

    # then
    assert interactions.to_dict("records") == [
        {"member_id": 7, "product_id": 1, "timestamp": stamp, "quantity": 2, "value": 3.5}
    ]
