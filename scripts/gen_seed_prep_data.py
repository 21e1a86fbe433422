#!/usr/bin/python3
"""Writes examples/data/books.csv, the small catalogue examples/seed_prep.lua
prepares: 300 books with a free-text description, a release date, numeric
columns with missing cells, and a category. Deterministic (seed 7)."""
import csv, random, datetime, os

random.seed(7)
words = {
    "fiction": "love war family secret journey city night heart stranger memory river winter betrayal dream".split(),
    "science": "quantum cell energy climate brain evolution data theory universe genome particle ocean model".split(),
    "cooking": "bread spice garden kitchen recipe flavor butter season harvest soup baking vegetable tradition".split(),
}
glue = "a the of and in with about an its through their from".split()
out = os.path.join(os.path.dirname(__file__), "..", "examples", "data", "books.csv")
with open(out, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["id", "title", "description", "released", "price", "pages", "rating", "category"])
    for i in range(1, 301):
        cat = random.choice(sorted(words))
        vocab = words[cat] + random.sample(sum(words.values(), []), 3)
        desc = " ".join(random.choice(vocab) if random.random() < 0.6 else random.choice(glue)
                        for _ in range(random.randint(8, 20)))
        desc = desc[0].upper() + desc[1:] + random.choice([".", "!", ", a story.", "; new edition."])
        day = datetime.date(2000, 1, 1) + datetime.timedelta(days=random.randint(0, 9000))
        price = round(random.uniform(5, 60) + (10 if cat == "science" else 0), 2)
        pages = random.randint(80, 900)
        rating = round(random.uniform(1, 5), 1)
        row = [i, f"{cat.title()} book {i}", desc, day.isoformat(), price, pages, rating, cat]
        for k in (3, 4, 6):  # missing cells, as real catalogues have
            if random.random() < 0.06:
                row[k] = ""
        w.writerow(row)
print("wrote", out)
