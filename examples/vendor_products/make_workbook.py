"""Regenerates products.xlsx, the demo workbook (pip install openpyxl): two
sheets, so the SQL sees input.products and input.read_me. The
committed file is what the demo and the tests use; this only documents it."""
import datetime
import pathlib
from openpyxl import Workbook

wb = Workbook()
ws = wb.active
ws.title = "Products"
ws.append(["SKU", "Name", "Price", "Launched", "Tags", "Vendor Code", "Vendor Name"])
rows = [
    ("A-100", "Anvil", "$16.99 USD", datetime.date(2024, 5, 4), "heavy;iron", "ACME", "Acme Corp"),
    ("A-101", "Rocket skates", "1,234.50", datetime.date(2023, 1, 15), "fast", "ACME", "Acme Corp"),
    ("B-200", "Bird seed", "41 Apples", "04/05/2024", "food;bird", "BIRD", "Bird Supplies"),
    ("B-201", "Giant magnet", "(12.50)", "2024-02-29", "", "BIRD", "Bird Supplies"),
    ("C-300", "Dehydrated boulders", "n/a", "not a date", "rock", "CLIFF", "Cliff Traders"),
    (None, "Mystery box", "9.99", None, None, "CLIFF", "Cliff Traders"),
]
for r in rows:
    ws.append(list(r))
ws["D2"].number_format = "yyyy-mm-dd"
ws["D3"].number_format = "yyyy-mm-dd"
notes = wb.create_sheet("Read me")
notes.append(["note"])
notes.append(["Weekly vendor price list; the connector reads the Products sheet."])
wb.save(pathlib.Path(__file__).with_name("products.xlsx"))
