package dev.asyncdiff.api;

/**
 * A noise-prediction network (UNet or MMDiT), or a part of one: takes the latent {@code sample},
 * the {@code timestep} and the conditioning inputs and predicts noise (or velocity).
 */
public interface Denoiser extends InferenceSession {
}
