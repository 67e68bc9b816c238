package dev.asyncdiff.examples.ddpm;

import com.fasterxml.jackson.databind.JsonNode;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/**
 * An exported diffusers {@code DDPMPipeline} or {@code DDIMPipeline} folder: {@code model_index.json},
 * {@code scheduler/scheduler_config.json}, {@code unet/model.onnx} and {@code unet/config.json}
 * (a {@code UNet2DModel} working in pixel space). Immutable and thread-safe.
 *
 * @param directory       the folder
 * @param pipelineClass   {@code DDPMPipeline} or {@code DDIMPipeline}
 * @param schedulerConfig {@code scheduler/scheduler_config.json}
 * @param unet            {@code unet/model.onnx}
 * @param channels        the image channels ({@code in_channels}: 3 for RGB, 1 for grayscale)
 * @param sampleHeight    the default image height ({@code sample_size})
 * @param sampleWidth     the default image width
 * @param sizeMultiple    what image sides must be a multiple of: 2<sup>downsampling blocks</sup>
 */
record DdpmModelFolder(Path directory, String pipelineClass, Path schedulerConfig, Path unet, int channels,
                       int sampleHeight, int sampleWidth, int sizeMultiple) {
    /** The {@code model_index.json} {@code _class_name}s this adapter opens. */
    static final Set<String> PIPELINE_CLASSES = Set.of("DDPMPipeline", "DDIMPipeline");
    /** diffusers' {@code UNet2DModel} has four down blocks unless its config says otherwise. */
    private static final int DEFAULT_DOWN_BLOCKS = 4;

    /** Whether {@code modelDir}'s {@code model_index.json} names one of {@link #PIPELINE_CLASSES}. */
    static boolean looksSupported(Path modelDir) {
        return modelDir != null && PIPELINE_CLASSES.contains(JsonFiles.pipelineClass(modelDir));
    }

    /**
     * Reads the folder's index and UNet config and checks that its files exist.
     *
     * @throws ModelNotFoundException  naming the folder or file that is missing
     * @throws MalformedModelException when the index names another pipeline, or the UNet config lacks
     *                                 or has invalid {@code in_channels} / {@code sample_size}
     */
    static DdpmModelFolder open(Path modelDir) {
        if (modelDir == null) {
            throw new IllegalArgumentException("a DDPM model folder path is required");
        }
        if (!Files.isDirectory(modelDir)) {
            throw new ModelNotFoundException(modelDir, "DDPM model folder");
        }
        Path index = modelDir.resolve("model_index.json");
        String className = JsonFiles.readObject(index, "model index (model_index.json)").path("_class_name")
                .asText("");
        if (!PIPELINE_CLASSES.contains(className)) {
            throw new MalformedModelException(index, "_class_name is '" + className + "'; the ddpm adapter opens "
                    + String.join(" and ", PIPELINE_CLASSES.stream().sorted().toList()) + " folders");
        }
        Path scheduler = require(modelDir.resolve("scheduler").resolve("scheduler_config.json"),
                "scheduler config (scheduler/scheduler_config.json)");
        Path unet = require(modelDir.resolve("unet").resolve("model.onnx"), "UNet (unet/model.onnx)");
        Path configFile = modelDir.resolve("unet").resolve("config.json");
        JsonNode config = JsonFiles.readObject(configFile, "UNet config (unet/config.json)");
        int channels = positiveInt(config, "in_channels", configFile);
        if (channels != 1 && channels != 3) {
            throw new MalformedModelException(configFile, "in_channels is " + channels + "; a pixel-space DDPM "
                    + "UNet makes RGB (3) or grayscale (1) images");
        }
        int outChannels = config.has("out_channels") ? positiveInt(config, "out_channels", configFile) : channels;
        if (outChannels != channels) {
            throw new MalformedModelException(configFile, "out_channels " + outChannels + " differs from in_channels "
                    + channels + "; the UNet must predict noise of the sample's shape");
        }
        int[] size = sampleSize(config, configFile);
        JsonNode downBlocks = config.path("down_block_types");
        int levels = downBlocks.isArray() && downBlocks.size() > 0 ? downBlocks.size() : DEFAULT_DOWN_BLOCKS;
        return new DdpmModelFolder(modelDir, className, scheduler, unet, channels, size[0], size[1],
                1 << (levels - 1));
    }

    private static Path require(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new ModelNotFoundException(file, what);
        }
        return file;
    }

    private static int positiveInt(JsonNode config, String key, Path file) {
        JsonNode value = config.get(key);
        if (value == null || !value.canConvertToInt() || !value.isIntegralNumber() || value.asInt() < 1) {
            throw new MalformedModelException(file, "'" + key + "' must be a positive integer, was "
                    + (value == null ? "missing" : value.toString()));
        }
        return value.asInt();
    }

    /** {@code sample_size}: one number for square images, or {@code [height, width]}. */
    private static int[] sampleSize(JsonNode config, Path file) {
        JsonNode value = config.get("sample_size");
        if (value != null && value.isArray() && value.size() == 2 && value.get(0).isIntegralNumber()
                && value.get(1).isIntegralNumber() && value.get(0).asInt() > 0 && value.get(1).asInt() > 0) {
            return new int[] {value.get(0).asInt(), value.get(1).asInt()};
        }
        if (value != null && value.isIntegralNumber() && value.asInt() > 0) {
            return new int[] {value.asInt(), value.asInt()};
        }
        throw new MalformedModelException(file, "'sample_size' must be a positive integer or [height, width], was "
                + (value == null ? "missing" : value.toString()));
    }

    /** The folder's name, for the parameters text of an image. */
    String name() {
        Path name = directory.toAbsolutePath().normalize().getFileName();
        return name == null ? directory.toString() : name.toString();
    }
}
