package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.GenerationRequest;
import dev.asyncdiff.api.NoiseScheduler;
import dev.asyncdiff.api.Tensor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The latents a generation starts from and the timesteps it then runs, for every family: seeded
 * Gaussian noise scaled by the sampler's initial sigma (text-to-image), or the encoded init image
 * noised to the first of the strength's timesteps (image-to-image, diffusers' {@code get_timesteps}
 * and {@code add_noise} / flow matching's {@code scale_noise}, whichever the sampler implements).
 *
 * @param latents   {@code [batch, channels, h, w]}, flattened
 * @param timesteps the timesteps to denoise over; empty when the strength runs no step
 */
record StartingLatents(float[] latents, double[] timesteps) {
    private static final Logger LOG = LoggerFactory.getLogger(StartingLatents.class);

    /** Text-to-image: the noise of {@code seed + i} for image i, times the sampler's initial sigma. */
    static StartingLatents fromNoise(NoiseScheduler scheduler, int steps, long seed, int batch, int perImage) {
        scheduler.setTimesteps(steps);
        float[] latents = LatentNoise.batch(seed, batch, perImage);
        float sigma = (float) scheduler.initNoiseSigma();
        for (int i = 0; i < latents.length; i++) {
            latents[i] *= sigma;
        }
        return new StartingLatents(latents, scheduler.timesteps());
    }

    /**
     * Image-to-image: {@code encoded} (one image's latents of {@code shape}'s {@code [channels, h, w]})
     * repeated over the batch and noised to the first timestep of {@code request}'s strength tail. A
     * strength so low that {@code floor(steps × strength) = 0} runs no step and keeps the image (diffusers
     * refuses that case); it is logged.
     */
    static StartingLatents fromImage(NoiseScheduler scheduler, float[] encoded, GenerationRequest request, int batch,
                                     int channels, int latentHeight, int latentWidth) {
        int perImage = channels * latentHeight * latentWidth;
        float[] initBatch = new float[batch * perImage];
        for (int i = 0; i < batch; i++) {
            System.arraycopy(encoded, 0, initBatch, i * perImage, perImage);
        }
        boolean keep = NoiseScheduler.strengthStartStep(request.steps(), request.strength()) >= request.steps();
        if (keep) {
            LOG.warn("strength {} with {} steps runs no denoising step (steps x strength < 1): the init image comes "
                    + "back only encoded and decoded; raise the strength or the steps", request.strength(),
                    request.steps());
            return new StartingLatents(initBatch, new double[0]);
        }
        double[] timesteps = scheduler.setTimestepsForStrength(request.steps(), request.strength());
        try (Tensor clean = Tensor.ofFloats(initBatch, batch, channels, latentHeight, latentWidth);
             Tensor gaussian = Tensor.ofFloats(LatentNoise.batch(request.seed(), batch, perImage), batch, channels,
                     latentHeight, latentWidth);
             Tensor noised = scheduler.addNoise(clean, gaussian, timesteps[0])) {
            return new StartingLatents(noised.toFloatArray(), timesteps);
        }
    }
}
