package dev.asyncdiff.adapters.video;

import com.fasterxml.jackson.databind.JsonNode;
import dev.asyncdiff.adapters.sd.ModelFamily;
import dev.asyncdiff.adapters.sd.ModelFolder;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A video model folder in diffusers' layout with ONNX models (Optimum's and OnnxStack's {@code <component>/model.onnx}):
 * which family it is and what its configs say about frames and sizes.
 *
 * @param directory the folder
 * @param family    the family {@code model_index.json} names
 * @param sdView    the same folder as the SD adapter reads it (text encoder, tokenizer, VAE)
 */
record VideoFolder(Path directory, VideoFamily family, ModelFolder sdView) {
    /**
     * Opens the folder at {@code directory}.
     *
     * @throws ModelNotFoundException  when the folder or its {@code model_index.json} is missing
     * @throws MalformedModelException when the index is unreadable, names no video pipeline, or a model is missing
     */
    static VideoFolder open(Path directory) {
        Path index = directory.resolve(ModelFolder.MODEL_INDEX);
        if (!Files.isDirectory(directory)) {
            throw new ModelNotFoundException(directory, "the video model folder");
        }
        if (!Files.isRegularFile(index)) {
            throw new ModelNotFoundException(index, "the index of a diffusers folder exported to ONNX");
        }
        JsonNode json = ModelFolder.readJson(index);
        String className = json.path("_class_name").asText("");
        VideoFamily family = VideoFamily.ofPipelineClass(className);
        if (family == null) {
            throw new MalformedModelException(index, "names the pipeline '" + className + "'; the video adapter runs "
                    + VideoFamily.SVD.pipelineClass() + " and " + VideoFamily.ANIMATEDIFF.pipelineClass());
        }
        List<String> missing = new ArrayList<>();
        for (String component : family.models()) {
            Path model = directory.resolve(component).resolve(ModelFolder.MODEL_FILE);
            if (!Files.isRegularFile(model)) {
                missing.add(directory.relativize(model).toString());
            }
        }
        if (!missing.isEmpty()) {
            throw new MalformedModelException(directory, "a " + family.displayName() + " folder needs " + missing
                    + ", which " + (missing.size() == 1 ? "is" : "are") + " missing");
        }
        // The SD adapter's view reads the CLIP text encoder, the tokenizer and the VAE, which AnimateDiff shares with
        // its SD 1.5 base and SVD's VAE encoder with SD's AutoencoderKL.
        return new VideoFolder(directory, family, new ModelFolder(directory, ModelFamily.SD15, className, json));
    }

    /**
     * Opens the folder at {@code directory}, which must be a {@code family} folder.
     *
     * @throws IllegalArgumentException when it is the other family's folder
     * @see #open(Path)
     */
    static VideoFolder open(Path directory, VideoFamily family) {
        VideoFolder folder = open(directory);
        if (folder.family() != family) {
            throw new IllegalArgumentException(directory + " is a " + folder.family().displayName() + " folder, not "
                    + family.displayName());
        }
        return folder;
    }

    /** The class name of the folder's {@code scheduler/scheduler_config.json}, for the parameters text. */
    String schedulerClass() {
        return ModelFolder.optionalJson(sdView.schedulerConfig()).path("_class_name").asText("scheduler");
    }

    /** Whether {@code directory} holds a {@code model_index.json} naming a video pipeline (nothing else is checked). */
    static boolean looksSupported(Path directory) {
        Path index = directory.resolve(ModelFolder.MODEL_INDEX);
        if (!Files.isRegularFile(index)) {
            return false;
        }
        try {
            return VideoFamily.ofPipelineClass(ModelFolder.readJson(index).path("_class_name").asText("")) != null;
        } catch (MalformedModelException e) {
            return false;
        }
    }

    /** {@code <component>/model.onnx}. */
    Path modelFile(String component) {
        return sdView.modelFile(component);
    }

    /** The {@code config.json} of {@code component}, or an empty object. */
    JsonNode config(String component) {
        return sdView.config(component);
    }

    /** The UNet's {@code in_channels}: 8 for SVD (latents and the still's latents), 4 for AnimateDiff. */
    int unetInChannels() {
        return config("unet").path("in_channels").asInt(family == VideoFamily.SVD ? 8 : 4);
    }

    /** The UNet's {@code cross_attention_dim}. */
    int crossAttentionDim() {
        return config("unet").path("cross_attention_dim").asInt(family == VideoFamily.SVD ? 1024 : 768);
    }

    /** Image pixels a side must be a multiple of: the VAE factor times 2^(UNet levels − 1). */
    int sizeMultiple() {
        JsonNode channels = config("unet").path("block_out_channels");
        int levels = channels.isArray() && !channels.isEmpty() ? channels.size() : 4;
        return sdView.vaeScaleFactor() << (levels - 1);
    }

    /** Frames per clip by default: the UNet config's {@code num_frames} (SVD), else the family's. */
    int defaultFrames() {
        JsonNode frames = config("unet").path("num_frames");
        return frames.canConvertToInt() && frames.asInt() > 0 ? frames.asInt() : family.defaultFrames();
    }

    /**
     * The most frames the UNet takes, or 0 for no limit: AnimateDiff's motion modules hold positional embeddings for
     * {@code motion_max_seq_length} frames; SVD's temporal layers have no such table.
     */
    int maxFrames() {
        if (family != VideoFamily.ANIMATEDIFF) {
            return 0;
        }
        JsonNode max = config("unet").path("motion_max_seq_length");
        if (!max.canConvertToInt()) {
            max = config("motion_adapter").path("motion_max_seq_length");
        }
        return max.canConvertToInt() && max.asInt() > 0 ? max.asInt() : 32;
    }

    /**
     * The UNet's inputs at batch 1 for {@code frames} frames of {@code h × w} latents, binding its frame, channel,
     * spatial and context axes from what the folder says.
     */
    Map<String, long[]> denoiserInputShapes(int frames, int h, int w) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        if (family == VideoFamily.SVD) {
            shapes.put("sample", new long[] {1, frames, unetInChannels(), h, w});
            shapes.put("encoder_hidden_states", new long[] {1, 1, crossAttentionDim()});
            shapes.put("added_time_ids", new long[] {1, 3});
        } else {
            shapes.put("sample", new long[] {1, unetInChannels(), frames, h, w});
            long[] text = sdView.denoiserInputShapes(h, w).get("encoder_hidden_states");
            shapes.put("encoder_hidden_states", text != null ? text : new long[] {1, 77, crossAttentionDim()});
        }
        return shapes;
    }

    /** The default image side: the UNet's {@code sample_size} times the VAE factor, else 512. */
    int defaultImageSize() {
        JsonNode sample = config("unet").path("sample_size");
        return sample.canConvertToInt() && sample.asInt() > 0 ? sample.asInt() * sdView.vaeScaleFactor() : 512;
    }
}
