/**
 * The tokenizers of Stable Diffusion's text encoders, read from Hugging Face tokenizer folders:
 * CLIP's byte-level BPE ({@code vocab.json}, {@code merges.txt}, {@code tokenizer_config.json},
 * {@code special_tokens_map.json}) and, for SD 3's {@code tokenizer_3/}, T5's SentencePiece unigram
 * model ({@code tokenizer.json} or {@code spiece.model}). Pure Java, immutable and thread-safe.
 */
package dev.asyncdiff.adapters.sd.tokenizer;
