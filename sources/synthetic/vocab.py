"""Words, palettes and fonts shared by the procedural generators, so samples read like real work."""
from __future__ import annotations

import random

TOPICS = {
    "sales": (["Revenue", "Orders", "Units sold", "Profit"], ["North", "South", "East", "West", "Online", "Retail"]),
    "climate": (["Temperature (°C)", "Rainfall (mm)", "CO₂ (ppm)", "Humidity (%)"], ["Oslo", "Lima", "Cairo", "Perth", "Quito", "Hanoi"]),
    "web": (["Visitors", "Sessions", "Bounce rate (%)", "Latency (ms)"], ["Desktop", "Mobile", "Tablet", "API", "Bots"]),
    "science": (["Absorbance", "Yield (%)", "Signal (mV)", "Growth rate"], ["Sample A", "Sample B", "Control", "Trial 1", "Trial 2"]),
    "sports": (["Points", "Goals", "Assists", "Win rate"], ["Falcons", "Tigers", "Orcas", "Rovers", "Comets"]),
    "finance": (["Price ($)", "Return (%)", "Volume", "Volatility"], ["AAPL", "BOND", "GOLD", "ETF-X", "CASH"]),
    "health": (["Patients", "Recovery (%)", "Wait time (min)", "Dose (mg)"], ["Ward 1", "Ward 2", "Clinic", "ICU", "Outpatient"]),
    "energy": (["Output (MW)", "Demand (GWh)", "Efficiency (%)", "Cost ($/MWh)"], ["Solar", "Wind", "Hydro", "Gas", "Nuclear"]),
}
X_AXES = {
    "months": ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"],
    "quarters": ["Q1", "Q2", "Q3", "Q4"],
    "weekdays": ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"],
    "years": [str(y) for y in range(2012, 2025)],
}
CJK_TITLES = ["月度销售额", "年間降水量", "지역별 방문자 수", "実験結果の比較", "能源产量"]
PALETTES = [
    ["#4C72B0", "#DD8452", "#55A868", "#C44E52", "#8172B3", "#937860"],
    ["#1b9e77", "#d95f02", "#7570b3", "#e7298a", "#66a61e", "#e6ab02"],
    ["#264653", "#2a9d8f", "#e9c46a", "#f4a261", "#e76f51", "#8ab17d"],
    ["#003f5c", "#58508d", "#bc5090", "#ff6361", "#ffa600", "#7a5195"],
    ["#0b84a5", "#f6c85f", "#6f4e7c", "#9dd866", "#ca472f", "#ffa056"],
    ["tab:blue", "tab:orange", "tab:green", "tab:red", "tab:purple", "tab:brown"],
]
CMAPS = ["viridis", "plasma", "magma", "cividis", "coolwarm", "RdYlBu", "YlGnBu", "Spectral", "inferno", "Blues", "Greens"]
MPL_STYLES = ["default", "ggplot", "bmh", "seaborn-v0_8-whitegrid", "seaborn-v0_8-darkgrid", "fivethirtyeight", "classic", "grayscale"]
WORDS = ("data model river cloud signal garden rocket market vector matrix pixel canvas harbor summit orbit "
         "crystal forest ember lumen quartz meadow beacon atlas vertex nimbus prism delta fabric kernel").split()
FIRST_NAMES = ["Ada", "Grace", "Alan", "Linus", "Mina", "Ravi", "Sofia", "Kenji", "Amara", "Lucas", "Ines", "Omar"]
WEB_FONTS = ["'DejaVu Sans', sans-serif", "'DejaVu Serif', serif", "'Liberation Sans', Arial, sans-serif",
             "'Noto Sans', sans-serif", "'DejaVu Sans Mono', monospace", "Georgia, 'DejaVu Serif', serif"]
LOREM = ("lorem ipsum dolor sit amet consectetur adipiscing elit sed do eiusmod tempor incididunt ut labore et "
         "dolore magna aliqua enim ad minim veniam quis nostrud exercitation ullamco laboris nisi aliquip").split()


def sentence(rng: random.Random, lo: int = 6, hi: int = 14) -> str:
    words = [rng.choice(LOREM) for _ in range(rng.randint(lo, hi))]
    return " ".join(words).capitalize() + "."


def title(rng: random.Random, lo: int = 2, hi: int = 4) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(rng.randint(lo, hi))).title()


def hex_color(rng: random.Random, light: bool | None = None) -> str:
    if light is None:
        return "#%02x%02x%02x" % tuple(rng.randint(0, 255) for _ in range(3))
    lo, hi = (170, 250) if light else (20, 110)
    return "#%02x%02x%02x" % tuple(rng.randint(lo, hi) for _ in range(3))
