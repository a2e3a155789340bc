import random

def sample_for_review(items, rate=0.05):
    return [i for i in items if random.random() < rate]
