package dev.asyncdiff.api;

/** The phases of one generation, in the order they run. */
public enum GenerationPhase {
    /** Tokenizing the prompts and running the text encoders. */
    ENCODE_TEXT,
    /** Encoding the init image with the VAE encoder (image-to-image only). */
    ENCODE_IMAGE,
    /** The denoising loop. */
    DENOISE,
    /** Decoding the latents with the VAE decoder. */
    DECODE
}
