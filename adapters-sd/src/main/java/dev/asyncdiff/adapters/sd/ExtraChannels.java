package dev.asyncdiff.adapters.sd;

import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.StepContext;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;

/**
 * A {@link StepInputs} hook for UNets that read more channels than they predict: each image's scaled latents
 * followed by fixed extra channels (inpainting: the mask and the masked image's latents; the x4 upscaler: the
 * noised low-resolution image).
 *
 * @param extra    the extra channels, {@code [images, channels, h, w]} flattened; image {@code i} of a branch
 *                 reads those of image {@code i % images}
 * @param images   how many images {@code extra} holds
 * @param channels extra channels per image
 */
record ExtraChannels(float[] extra, int images, int channels) implements StepInputs {
    @Override
    public NamedTensors build(StepContext step, Tensor scaled) {
        long[] shape = scaled.shape();
        int own = (int) (shape[1] * shape[2] * shape[3]);
        int added = extra.length / images;
        float[] latents = scaled.toFloatArray();
        int count = (int) shape[0];
        float[] sample = new float[count * (own + added)];
        for (int image = 0; image < count; image++) {
            System.arraycopy(latents, image * own, sample, image * (own + added), own);
            System.arraycopy(extra, (image % images) * added, sample, image * (own + added) + own, added);
        }
        return new NamedTensors().put(StepInputs.SAMPLE, Tensor.ofFloats(sample, count, shape[1] + channels, shape[2],
                shape[3]));
    }
}
