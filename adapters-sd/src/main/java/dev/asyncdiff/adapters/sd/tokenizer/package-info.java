/**
 * The CLIP byte-level BPE tokenizer of Stable Diffusion's text encoders, read from a Hugging Face
 * tokenizer folder ({@code vocab.json}, {@code merges.txt}, {@code tokenizer_config.json},
 * {@code special_tokens_map.json}). Pure Java, immutable and thread-safe.
 */
package dev.asyncdiff.adapters.sd.tokenizer;
