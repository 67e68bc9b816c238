package dev.asyncdiff.api;

/**
 * One of the N consecutive parts a {@link ComponentSplitter} cut a denoiser into, bound to the
 * device that runs it. Component {@code i} consumes the latent-path tensors that components
 * {@code 0..i-1} produce, plus the conditioning inputs; the last one yields the noise prediction.
 */
public interface DenoiserComponent extends Denoiser {
    /** The position of this component in the chain, from 0. */
    int index();
}
