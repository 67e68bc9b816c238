package dev.asyncdiff.adapters.video;

import com.fasterxml.jackson.databind.JsonNode;
import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.api.InferenceSession;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.NamedTensors;
import dev.asyncdiff.api.Tensor;
import dev.asyncdiff.spi.PipelineContext;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;

/**
 * SVD's CLIP image encoder ({@code image_encoder/}, {@code CLIPVisionModelWithProjection}): a still image to its
 * {@code image_embeds}, prepared as {@link ClipImageInput} says with the mean and standard deviation of
 * {@code feature_extractor/preprocessor_config.json}. Owns its session.
 */
final class ImageEmbedder implements AutoCloseable {
    private static final double[] CLIP_MEAN = {0.48145466, 0.4578275, 0.40821073};
    private static final double[] CLIP_STD = {0.26862954, 0.26130258, 0.27577711};

    private static final String PREPROCESSOR_CONFIG = "feature_extractor/preprocessor_config.json";

    private final Path file;
    private final InferenceSession session;
    private final int size;
    private final double[] mean;
    private final double[] std;

    ImageEmbedder(VideoFolder folder, PipelineContext context) {
        this.file = folder.modelFile("image_encoder");
        JsonNode preprocessor = ModelFolder.optionalJson(folder.directory().resolve(PREPROCESSOR_CONFIG));
        this.mean = triple(preprocessor.path("image_mean"), CLIP_MEAN, "image_mean");
        this.std = triple(preprocessor.path("image_std"), CLIP_STD, "image_std");
        this.size = folder.config("image_encoder").path("image_size").asInt(224);
        this.session = context.loadModel(file);
    }

    /** The embedding {@code [projection_dim]} of {@code chw} ({@code [3, height, width]} in [-1, 1]). */
    float[] embed(float[] chw, int height, int width) {
        float[] pixels = ClipImageInput.pixelValues(chw, height, width, size, mean, std);
        String input = session.inputs().get(0).name();
        try (Tensor in = Tensor.ofFloats(pixels, 1, 3, size, size);
             NamedTensors out = session.run(Map.of(input, in))) {
            Tensor embeds = out.contains("image_embeds") ? out.get("image_embeds") : out.asMap().values().iterator().next();
            long[] shape = embeds.shape();
            if (shape.length != 2 || shape[0] != 1) {
                throw new MalformedModelException(file, "image_embeds has shape " + Arrays.toString(shape)
                        + "; expected [1, projection_dim]");
            }
            return embeds.toFloatArray();
        }
    }

    private double[] triple(JsonNode node, double[] fallback, String key) {
        if (node.isMissingNode()) {
            return fallback;
        }
        if (!node.isArray() || node.size() != 3) {
            throw new MalformedModelException(Path.of(PREPROCESSOR_CONFIG), key + " must hold 3 numbers (R, G, B), was "
                    + node);
        }
        return new double[] {node.get(0).asDouble(), node.get(1).asDouble(), node.get(2).asDouble()};
    }

    @Override
    public void close() {
        session.close();
    }
}
