"""Regenerates spiece.model and reference-ids.json beside this file (Debian's python3-sentencepiece 0.1.97).

Run from the repository root: python3 adapters-sd/src/test/resources/dev/asyncdiff/adapters/sd/tokenizer/t5-mini/t5_reference.py
"""
import json
import os

import sentencepiece as spm

HERE = os.path.dirname(os.path.abspath(__file__))
CORPUS = "synthetic/src/main/resources/dev/asyncdiff/synthetic/bpe-corpus.txt"
TEXTS = ["a photo of a cat", "A Lighthouse at dawn, painted in oil.", "  leading and   inner   spaces  ",
         "tab\there\nnewline", "ﬁne ① ＦＵＬＬ width", "日本語 and émojis 🙂", "", "mountains covered with snow",
         "an astronaut riding a horse on the moon, detailed, 4k", "x" * 40, "hyphen-ated words... and (parens)!"]

prefix = os.path.join(HERE, "t5-mini")
# T5's special ids: <pad> 0, </s> 1, <unk> 2, no BOS; the default nmt_nfkc normalizer.
spm.SentencePieceTrainer.train(input=CORPUS, model_prefix=prefix, vocab_size=300, model_type="unigram", pad_id=0,
                               eos_id=1, unk_id=2, bos_id=-1, character_coverage=1.0, minloglevel=2)
os.replace(prefix + ".model", os.path.join(HERE, "spiece.model"))
os.remove(prefix + ".vocab")
sp = spm.SentencePieceProcessor(model_file=os.path.join(HERE, "spiece.model"))
with open(os.path.join(HERE, "reference-ids.json"), "w", encoding="utf-8") as out:
    json.dump([{"text": t, "ids": sp.encode(t), "pieces": sp.encode(t, out_type=str)} for t in TEXTS], out,
              ensure_ascii=False, indent=1)
