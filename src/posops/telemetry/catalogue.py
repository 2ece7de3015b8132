"""The device models, carriers and regions that the demo fleet and the fleet simulator share."""

from __future__ import annotations

from typing import NamedTuple


class CatalogueModel(NamedTuple):
    """One terminal model: its vendor, network types, firmware and app versions (oldest first)."""

    vendor: str
    networks: tuple[str, ...]
    firmwares: tuple[str, ...]
    apps: tuple[str, ...]


MODEL_CATALOGUE: dict[str, CatalogueModel] = {
    "PAX A920": CatalogueModel("PAX", ("4g", "wifi"), ("PayDroid 7.1.2", "PayDroid 8.1.0"),
                               ("3.1.4", "3.2.0", "3.2.1")),
    "Newland N910": CatalogueModel("Newland", ("4g", "wifi"), ("N910-FW 2.3.1", "N910-FW 2.4.0"), ("5.0.8", "5.1.2")),
    "Landi A8": CatalogueModel("Landi", ("4g", "wifi"), ("A8-OS 1.9.7", "A8-OS 2.0.3"), ("2.7.0", "2.8.1")),
    "Sunmi P2": CatalogueModel("Sunmi", ("4g", "wifi"), ("SUNMI OS 2.6.0", "SUNMI OS 3.0.1"), ("4.4.2", "4.5.0")),
    "Verifone X990": CatalogueModel("Verifone", ("ethernet", "wifi", "4g"), ("VOS3 3.12.0", "VOS3 3.14.2"),
                                    ("1.9.3", "2.0.0")),
}
CARRIERS = ("中国移动", "中国联通", "中国电信")
REGIONS = ("上海", "北京", "广州", "深圳", "杭州", "成都")
