# Writes clip-reference.json: OpenAI CLIP SimpleTokenizer (simple_tokenizer.py) without ftfy and html,
# over the vocab.json/merges.txt the synthetic module builds from bpe_simple_vocab_16e6.txt.gz.
# usage: python3 clip_reference.py TEXTS.json  (needs the "regex" package)
# OpenAI CLIP SimpleTokenizer (simple_tokenizer.py) without ftfy/html, reading HF files.
import json, regex as re, unicodedata, sys
def bytes_to_unicode():
    bs = list(range(ord("!"), ord("~")+1))+list(range(ord("¡"), ord("¬")+1))+list(range(ord("®"), ord("ÿ")+1))
    cs = bs[:]
    n = 0
    for b in range(2**8):
        if b not in bs:
            bs.append(b); cs.append(2**8+n); n += 1
    return dict(zip(bs, [chr(n) for n in cs]))
def get_pairs(word):
    pairs = set(); prev = word[0]
    for c in word[1:]:
        pairs.add((prev, c)); prev = c
    return pairs
def whitespace_clean(text):
    text = re.sub(r'\s+', ' ', text); return text.strip()
enc = json.load(open('clip/vocab.json'))
merges = open('clip/merges.txt', encoding='utf-8').read().split('\n')[1:49152-256-2+1]
ranks = {tuple(m.split()): i for i, m in enumerate(merges)}
be = bytes_to_unicode()
cache = {'<|startoftext|>': '<|startoftext|>', '<|endoftext|>': '<|endoftext|>'}
pat = re.compile(r"""<\|startoftext\|>|<\|endoftext\|>|'s|'t|'re|'ve|'m|'ll|'d|[\p{L}]+|[\p{N}]|[^\s\p{L}\p{N}]+""", re.IGNORECASE)
def bpe(token):
    if token in cache: return cache[token]
    word = tuple(token[:-1]) + (token[-1] + '</w>',)
    pairs = get_pairs(word)
    if not pairs: return token+'</w>'
    while True:
        bigram = min(pairs, key=lambda pair: ranks.get(pair, float('inf')))
        if bigram not in ranks: break
        first, second = bigram; new_word = []; i = 0
        while i < len(word):
            try:
                j = word.index(first, i); new_word.extend(word[i:j]); i = j
            except ValueError:
                new_word.extend(word[i:]); break
            if word[i] == first and i < len(word)-1 and word[i+1] == second:
                new_word.append(first+second); i += 2
            else:
                new_word.append(word[i]); i += 1
        word = tuple(new_word)
        if len(word) == 1: break
        pairs = get_pairs(word)
    word = ' '.join(word); cache[token] = word; return word
def encode(text):
    text = whitespace_clean(unicodedata.normalize('NFC', text)).lower()
    toks = []
    for token in re.findall(pat, text):
        token = ''.join(be[b] for b in token.encode('utf-8'))
        toks.extend(bpe(token).split(' '))
    return toks, [enc[t] for t in toks]
prompts = json.load(open(sys.argv[1]))
out = []
for p in prompts:
    toks, ids = encode(p)
    ids = [49406] + ids[:75] + [49407]
    out.append({"text": p, "tokens": toks[:12], "ids": ids, "n": len(toks)})
print(json.dumps(out, ensure_ascii=False))
