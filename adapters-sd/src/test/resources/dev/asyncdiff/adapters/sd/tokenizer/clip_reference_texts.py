import json, random
random.seed(7)
pieces = ["a", "photo", "of", "The", "CAT", "don't", "YOU'RE", "it'S", "we'VE", "I'm", "they'll", "she'd", "42", "2024", "3.14",
  "½", "²", "Ⅻ", "٣", "café", "cafe\u0301", "naïve", "Ñandú", "straße", "ÆON", "İstanbul", "ΣΟΦΟΣ", "東京", "タワー", "한국어", "中文字符",
  "🐱", "🚀", "😊👍🏽", "🇯🇵", "❤️", "high-res", "8k", "ultra_detailed", "(masterpiece:1.2)", "[foo]", "{bar}", "...", "!!!", "?!", "#tag", "@user",
  "e-mail@x.com", "http://x.y/z?q=1", "C++", "$100", "50%", "a&b", "<tag>", "<|startoftext|>", "<|endoftext|>", "'", "''", "'s", "--", "—", "–", "“quoted”", "‘single’",
  "\u00a0", "\u3000", "\u2003", "\x1c", "\x85", "\t", "\n", "  ", "\u200b", "ﬁ", "ＡＢＣ", "x\u0000y", "ǅ", "ß", "ﬀ", "Ω", "µ", "ℌ", "\U0001F600", "aaaaaaaaaaaaaaaaaaaaaa", "supercalifragilisticexpialidocious"]
texts = []
for n in range(300):
    k = random.randint(0, 14)
    parts = [random.choice(pieces) for _ in range(k)]
    seps = [random.choice([" ", " ", " ", "", ", ", "  ", "\t", "\u00a0"]) for _ in range(k)]
    texts.append("".join(p + s for p, s in zip(parts, seps)))
texts.append(" ".join(["word"] * 100))
texts.append("a photo of a cat " * 20)
texts.append("1" * 80)
json.dump(texts, open("random.json", "w"), ensure_ascii=False)
