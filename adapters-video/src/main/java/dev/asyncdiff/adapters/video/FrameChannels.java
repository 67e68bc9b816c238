package dev.asyncdiff.adapters.video;

import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.StepContext;
import dev.asyncdiff.api.StepInputs;
import dev.asyncdiff.api.Tensor;
import java.util.Arrays;

/**
 * SVD's per-step UNet input: the scaled latents {@code [clips, frames, c, h, w]} with each clip's still latents
 * {@code [clips, frames, extra, h, w]} concatenated after their channels, giving
 * {@code [clips, frames, c + extra, h, w]}; the unconditional branch of guidance gets zeros instead, as diffusers'
 * {@code torch.cat([latent_model_input, image_latents], dim=2)} with zero negative image latents.
 *
 * @param still the still's latents of every clip, {@code [clips, frames, extra, h, w]}
 * @param extra the still's latent channels
 */
record FrameChannels(float[] still, int extra) implements StepInputs {
    @Override
    public NamedTensors build(StepContext step, Tensor scaledLatents) {
        long[] shape = scaledLatents.shape();
        if (shape.length != 5) {
            throw new IllegalArgumentException("SVD latents are [clips, frames, channels, h, w], got "
                    + Arrays.toString(shape));
        }
        int clips = (int) shape[0];
        int frames = (int) shape[1];
        int channels = (int) shape[2];
        int plane = (int) (shape[3] * shape[4]);
        if (still.length != clips * frames * extra * plane) {
            throw new IllegalArgumentException("the still's latents hold " + still.length + " values; latents of shape "
                    + Arrays.toString(shape) + " need " + clips * frames * extra * plane);
        }
        float[] latents = scaledLatents.toFloatArray();
        float[] out = new float[clips * frames * (channels + extra) * plane];
        boolean zeros = !step.conditional();
        int at = 0;
        for (int clip = 0; clip < clips; clip++) {
            for (int frame = 0; frame < frames; frame++) {
                System.arraycopy(latents, (clip * frames + frame) * channels * plane, out, at, channels * plane);
                at += channels * plane;
                if (!zeros) {
                    System.arraycopy(still, (clip * frames + frame) * extra * plane, out, at, extra * plane);
                }
                at += extra * plane;
            }
        }
        return new NamedTensors().put(SAMPLE, Tensor.ofFloats(out, clips, frames, channels + extra, shape[3],
                shape[4]).to(scaledLatents.dtype()));
    }
}
