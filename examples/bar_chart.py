import matplotlib.pyplot as plt
import numpy as np

quarters = ["Q1", "Q2", "Q3", "Q4"]
north = np.array([12.5, 15.1, 14.2, 18.9])
south = np.array([9.8, 11.4, 13.0, 12.2])
x = np.arange(len(quarters))

fig, ax = plt.subplots(figsize=(6.4, 4.0))
ax.bar(x - 0.2, north, width=0.4, label="North", color="#4C72B0")
ax.bar(x + 0.2, south, width=0.4, label="South", color="#DD8452")
ax.set_xticks(x, quarters)
ax.set_ylabel("Revenue (M$)")
ax.set_title("Quarterly revenue by region")
ax.legend()
ax.grid(axis="y", alpha=0.3)
plt.tight_layout()
plt.savefig("revenue.png", dpi=300)
plt.show()
