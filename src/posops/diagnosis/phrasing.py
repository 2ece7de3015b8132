"""A learned second reading of a complaint: character n-grams and logistic regression over posops's own words.

The rules of :mod:`posops.diagnosis.reading` know the words the lexicon lists; merchants write
others, and misspell them. This model is trained, once per lexicon and process, on a
corpus the project generates from its own knowledge: every lexicon term in a few carrier phrases,
labelled with the symptom its concept points to (drawn in proportion to the concept's weights),
the rules' word pairs, and the taxonomy's example complaints. No benchmark or held-out wording is
ever in it. Its symptom probabilities temper the rules' reading (see `lexicon.yaml`
`scoring.phrasing_weight`); measured on three held-out sets in docs/benchmarks.md.

    >>> from posops.diagnosis.knowledge import load_knowledge
    >>> model = phrasing_model(load_knowledge())
    >>> probabilities = model.symptom_probabilities("小票打不出来")
    >>> max(probabilities, key=probabilities.get)
    'printer'
"""

from __future__ import annotations

import math
import random
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from threading import Lock

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from posops.diagnosis.knowledge import Knowledge
from posops.diagnosis.lexicon import GAP, Lexicon
from posops.diagnosis.textnorm import normalize

SEED = 20261203
SAMPLES_PER_TERM = 3
SAMPLES_PER_RULE = 10
SAMPLES_PER_EXAMPLE = 5
DEVICES = ("", "POS机", "pos机", "机器", "刷卡机", "终端", "收款机", "the terminal ", "card machine ", "my pos ")
FILLERS = ("", "了", "一直", "怎么回事", "怎么办", "老是", "突然", "今天", " help", " again")


@dataclass(frozen=True)
class PhrasingModel:
    """A trained character n-gram classifier of complaints into symptoms."""

    vectorizer: TfidfVectorizer
    classifier: LogisticRegression
    fold: Mapping[int, str]

    def symptom_probabilities(self, text: str) -> dict[str, float]:
        """Return P(symptom | text) as the model reads it."""
        features = self.vectorizer.transform([normalize(text).translate(self.fold)])
        probabilities = self.classifier.predict_proba(features)[0]
        return {str(symptom): float(p) for symptom, p in zip(self.classifier.classes_, probabilities, strict=True)}


def training_corpus(knowledge: Knowledge) -> tuple[list[str], list[str]]:
    """Complaints and their symptoms, generated from the lexicon and the taxonomy's examples (seeded)."""
    lexicon: Lexicon = knowledge.lexicon
    rng = random.Random(SEED)
    words: dict[str, list[str]] = defaultdict(list)
    for term in lexicon.terms:
        words[term.concept].append(term.text.replace(GAP, ""))
    texts: list[str] = []
    labels: list[str] = []

    def add(text: str, symptom: str) -> None:
        texts.append(rng.choice(DEVICES) + text + rng.choice(FILLERS))
        labels.append(symptom)

    for cid, concept in lexicon.concepts.items():
        pointed = {s: w for s, w in concept.symptoms.items() if w > 0}
        if not pointed:
            continue
        weights = [math.exp(lexicon.scoring.symptom_weight_scale * w) for w in pointed.values()]
        for word in words[cid]:
            for _ in range(SAMPLES_PER_TERM):
                add(rng.choice(FILLERS) + word, rng.choices(list(pointed), weights=weights)[0])
    for rule in lexicon.rules:
        if rule.symptoms and all(words[c] for c in rule.concepts):
            symptom = max(rule.symptoms, key=rule.symptoms.__getitem__)
            for _ in range(SAMPLES_PER_RULE):
                add("".join(rng.choice(words[c]) for c in rule.concepts), symptom)
    for sid, symptom_info in knowledge.symptoms.items():
        for example in symptom_info.examples:
            texts.extend([example] * SAMPLES_PER_EXAMPLE)
            labels.extend([sid] * SAMPLES_PER_EXAMPLE)
    return texts, labels


def train(knowledge: Knowledge) -> PhrasingModel:
    """Train the model on the corpus generated from `knowledge` (a few seconds).

    BLAS is held to one thread: the problem is small, and OpenBLAS' default of a thread per core
    made training several times slower on a busy two-core server (21 s against 1.8 s, seen here).
    """
    texts, labels = training_corpus(knowledge)
    fold = knowledge.lexicon.fold
    vectorizer = TfidfVectorizer(analyzer="char_wb", ngram_range=(1, 2), sublinear_tf=True)
    features = vectorizer.fit_transform([normalize(t).translate(fold) for t in texts])
    with threadpool_limits(limits=1, user_api="blas"):
        classifier = LogisticRegression(max_iter=2000, C=4.0).fit(features, labels)
    return PhrasingModel(vectorizer, classifier, fold)


_models: dict[int, PhrasingModel] = {}
_lock = Lock()
_CACHE_KEY = "phrasing_model"


def phrasing_model(knowledge: Knowledge) -> PhrasingModel:
    """The model of `knowledge`'s lexicon and examples, trained once per process and shared by every engine."""
    lexicon = knowledge.lexicon
    known = lexicon.cache.get(_CACHE_KEY)
    if known is not None and known[0] is knowledge.symptoms:
        return known[1]  # the same lexicon and examples as last time: skip hashing their contents
    key = hash((lexicon.terms, tuple((r.concepts, tuple(sorted(r.symptoms.items()))) for r in lexicon.rules),
                tuple((c, tuple(sorted(v.symptoms.items()))) for c, v in lexicon.concepts.items()),
                tuple((s.id, s.examples) for s in knowledge.symptoms.values())))
    model = _models.get(key)
    if model is None:
        with _lock:
            model = _models.get(key)
            if model is None:
                model = _models[key] = train(knowledge)
    lexicon.cache[_CACHE_KEY] = (knowledge.symptoms, model)
    return model
