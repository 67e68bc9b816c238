package dev.asyncdiff.adapters.video;

import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * SVD's still-image latents: the VAE encoder's distribution mode ({@code latent_dist.mode()}, the mean), not
 * multiplied by the scaling factor, as {@code StableVideoDiffusionPipeline._encode_vae_image}. An export whose
 * encoder returns {@code latent_parameters} (mean and log-variance) gives the mean exactly; one that returns only a
 * {@code latent_sample} gives that sample. Owns its session.
 */
final class StillLatents implements AutoCloseable {
    private final Path file;
    private final InferenceSession session;
    private final int channels;
    private final int factor;

    StillLatents(VideoFolder folder, PipelineContext context) {
        this.file = folder.modelFile("vae_encoder");
        this.channels = folder.config("vae_encoder").path("latent_channels").asInt(4);
        this.factor = folder.sdView().vaeScaleFactor();
        this.session = context.loadModel(file);
    }

    /** Latent channels. */
    int channels() {
        return channels;
    }

    /** The latents {@code [channels, height/f, width/f]} of {@code chw} ({@code [3, height, width]}). */
    float[] encode(float[] chw, int height, int width) {
        String input = session.inputs().get(0).name();
        try (Tensor in = Tensor.ofFloats(chw, 1, 3, height, width);
             NamedTensors out = session.run(Map.of(input, in))) {
            boolean sampled = out.contains("latent_sample");
            Tensor latents = sampled ? out.get("latent_sample") : out.contains("latent_parameters")
                    ? out.get("latent_parameters") : out.asMap().values().iterator().next();
            long[] expected = {1, sampled ? channels : 2L * channels, height / factor, width / factor};
            if (!Arrays.equals(latents.shape(), expected)) {
                throw new MalformedModelException(file, "the encoder's output has shape "
                        + Arrays.toString(latents.shape()) + "; expected " + Arrays.toString(expected));
            }
            return Arrays.copyOf(latents.toFloatArray(), channels * (height / factor) * (width / factor));
        }
    }

    @Override
    public void close() {
        session.close();
    }
}
