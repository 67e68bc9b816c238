package dev.asyncdiff.synthetic;

import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.CacheLock;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.onnx.graph.GraphBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes a complete model folder of one family in the layout of a diffusers pipeline exported to
 * ONNX: {@code model_index.json}, {@code scheduler/}, {@code tokenizer/} (and {@code tokenizer_2/}),
 * {@code text_encoder/} (and {@code text_encoder_2/}), {@code unet/}, {@code vae_encoder/} and
 * {@code vae_decoder/}, each model folder with {@code config.json} and {@code model.onnx} (the UNet
 * with {@code model.onnx_data} when its weights go external). SD 3 folders have
 * {@code text_encoder_3/} and {@code tokenizer_3/} (T5) too, and {@code transformer/} instead of
 * {@code unet/}; the denoiser's weights follow {@code unetPolicy} either way. The x4 upscaler's folder
 * adds {@code low_res_scheduler/} and has no {@code vae_encoder/}, as {@link PipelineIndex#components} lists.
 * A ControlNet is a folder of its own ({@link #writeControlNet}), as diffusers publishes it; the family folder's
 * UNet can take its residuals.
 *
 * <p>The folder is assembled under a temporary name beside {@code outDir} and renamed into place
 * once complete ({@code model_index.json} last), so a failure never leaves a folder that looks
 * complete; staging folders left by a process killed while it wrote are removed by the next write of the same
 * folder. {@code outDir} must be absent or an empty folder; nothing is ever overwritten.
 * Same arguments, same bytes: weights are seeded and every file is written deterministically.
 */
public final class SyntheticModels {
    /** The dtypes weights can be written in. */
    public static final List<DType> DTYPES = List.of(DType.FP32, DType.FP16);
    /** The file written last: its presence marks a complete folder. */
    public static final String MODEL_INDEX = "model_index.json";
    private static final Logger LOG = LoggerFactory.getLogger(SyntheticModels.class);
    private static final String MODEL_FILE = "model.onnx";
    private static final String SCHEDULER_FILE = "scheduler_config.json";

    private SyntheticModels() {
    }

    /** FP16 at {@link Scale#FULL} (as full models are exported for GPUs), FP32 otherwise. */
    public static DType defaultDType(Scale scale) {
        return scale == Scale.FULL ? DType.FP16 : DType.FP32;
    }

    /** {@link ExternalDataPolicy#EXTERNAL} for the UNet at {@link Scale#FULL}, {@link ExternalDataPolicy#AUTO} otherwise. */
    public static ExternalDataPolicy defaultUnetPolicy(Scale scale) {
        return scale == Scale.FULL ? ExternalDataPolicy.EXTERNAL : ExternalDataPolicy.AUTO;
    }

    /**
     * Parses a weight dtype: {@code fp32} or {@code fp16} (also {@code float32}, {@code float16}).
     *
     * @throws IllegalArgumentException listing the valid names
     */
    public static DType parseDType(String name) {
        String valid = DTYPES.stream().map(d -> d.name().toLowerCase(Locale.ROOT)).collect(Collectors.joining(", "));
        DType dtype;
        try {
            dtype = DType.parse(name);
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("unknown dtype '" + name + "'; expected one of " + valid, e);
        }
        if (!DTYPES.contains(dtype)) {
            throw new IllegalArgumentException("synthetic weights cannot be " + dtype.name().toLowerCase(Locale.ROOT)
                    + "; expected one of " + valid);
        }
        return dtype;
    }

    /**
     * Writes the folder with the UNet's weights placed by {@link #defaultUnetPolicy}.
     *
     * @see #write(Family, Scale, DType, long, TokenizerKind, ExternalDataPolicy, Path)
     */
    public static SyntheticFolder write(Family family, Scale scale, DType dtype, long seed, TokenizerKind tokenizer,
                                       Path outDir) {
        return write(family, scale, dtype, seed, tokenizer, defaultUnetPolicy(scale), outDir);
    }

    /**
     * Writes the model folder of {@code family} at {@code scale} to {@code outDir}.
     *
     * @param unetPolicy where the UNet's initializers go; the other models use {@link ExternalDataPolicy#AUTO}
     * @throws IllegalArgumentException for a dtype other than FP32/FP16, or an output folder that is
     *     a file, a non-empty folder or cannot be created (naming it)
     * @throws UncheckedIOException naming the file when writing fails; nothing is left at {@code outDir}
     * @throws IllegalStateException when {@code tokenizer} is {@link TokenizerKind#CLIP} and the CLIP merges file is missing
     */
    public static SyntheticFolder write(Family family, Scale scale, DType dtype, long seed, TokenizerKind tokenizer,
                                       ExternalDataPolicy unetPolicy, Path outDir) {
        return write(family, scale, dtype, seed, tokenizer, unetPolicy, false, outDir);
    }

    /**
     * Writes the model folder of {@code family} at {@code scale} to {@code outDir}; with
     * {@code controlNetResiduals} its {@code unet/model.onnx} is the UNet that also takes a ControlNet's
     * residuals ({@link UNetGraph#build(UNetConfig, Weights, DType, boolean)}), with the same weights.
     *
     * @param unetPolicy where the UNet's initializers go; the other models use {@link ExternalDataPolicy#AUTO}
     * @throws IllegalArgumentException for a dtype other than FP32/FP16, residual inputs on a family without a
     *     UNet, or an output folder that is a file, a non-empty folder or cannot be created (naming it)
     * @throws UncheckedIOException naming the file when writing fails; nothing is left at {@code outDir}
     * @throws IllegalStateException when {@code tokenizer} is {@link TokenizerKind#CLIP} and the CLIP merges file is missing
     */
    public static SyntheticFolder write(Family family, Scale scale, DType dtype, long seed, TokenizerKind tokenizer,
                                       ExternalDataPolicy unetPolicy, boolean controlNetResiduals, Path outDir) {
        if (family == null || scale == null || dtype == null || tokenizer == null || unetPolicy == null
                || outDir == null) {
            throw new IllegalArgumentException("family, scale, dtype, tokenizer, unetPolicy and outDir are required");
        }
        checkDType(dtype);
        if (controlNetResiduals && (family.hasTransformer() || family.video())) {
            throw new IllegalArgumentException("ControlNet residual inputs need an image UNet; " + family.cliName()
                    + (family.video() ? " makes clips" : " has a transformer"));
        }
        Path target = outDir.toAbsolutePath().normalize();
        checkReplaceable(target);
        CacheLock.removeAbandoned(target, ".");   // staging folders of runs killed while they wrote
        BpeVocabulary vocabulary = tokenizer.vocabulary();
        if (family.video()) {
            Map<String, Long> parameters = staged(target, staging -> {
                Map<String, Long> counts = family == Family.SVD
                        ? SvdModels.writeComponents(staging, scale, dtype, new Weights(seed), unetPolicy)
                        : AnimateDiffModels.writeComponents(staging, scale, dtype, new Weights(seed), vocabulary,
                                unetPolicy);
                Json.write(staging.resolve(MODEL_INDEX), PipelineIndex.of(family));
                return counts;
            });
            return written(target, family, scale, dtype, seed, tokenizer, family == Family.SVD ? 0 : vocabulary.size(),
                    parameters);
        }
        FamilyPreset preset = FamilyPreset.of(family, scale).withVocabSize(vocabulary.size());
        if (preset.textEncoder3() != null) {
            // like T5 itself, whose embedding (32,128 rows) is larger than its tokenizer (32,100)
            preset = preset.withT5VocabSize(Math.max(preset.textEncoder3().vocabSize(), UnigramVocabulary.small().size()));
        }
        FamilyPreset components = preset;
        Map<String, Long> parameters = staged(target, staging -> {
            Map<String, Long> counts = writeComponents(staging, family, components, dtype, new Weights(seed),
                    vocabulary, unetPolicy, controlNetResiduals);
            Json.write(staging.resolve(MODEL_INDEX), PipelineIndex.of(family));
            return counts;
        });
        return written(target, family, scale, dtype, seed, tokenizer, vocabulary.size(), parameters);
    }

    private static SyntheticFolder written(Path target, Family family, Scale scale, DType dtype, long seed,
                                           TokenizerKind tokenizer, int vocabSize, Map<String, Long> parameters) {
        long bytes = sizeOf(target);
        LOG.info("wrote {} {} {} model folder to {} ({} bytes)", family.cliName(), scale.cliName(),
                dtype.name().toLowerCase(Locale.ROOT), target, bytes);
        return new SyntheticFolder(target, family, scale, dtype, seed, tokenizer, vocabSize, parameters, bytes);
    }

    /**
     * Writes the ControlNet of {@code family} ({@link ControlNetConfig#of}) to {@code outDir}: {@code config.json}
     * with diffusers' {@code ControlNetModel} keys and {@code model.onnx} ({@link ControlNetGraph}), its weights
     * placed by {@link #defaultUnetPolicy} ({@code model.onnx_data} at full scale). With the same seed the
     * encoder's weights are those of the family folder's UNet, as {@code ControlNetModel.from_unet} copies them.
     *
     * @throws IllegalArgumentException for a family without a ControlNet (naming the valid ones), a dtype other
     *     than FP32/FP16, or an output folder that is a file, a non-empty folder or cannot be created (naming it)
     * @throws UncheckedIOException naming the file when writing fails; nothing is left at {@code outDir}
     */
    public static ControlNetFolder writeControlNet(Family family, Scale scale, DType dtype, long seed, Path outDir) {
        if (family == null || scale == null || dtype == null || outDir == null) {
            throw new IllegalArgumentException("family, scale, dtype and outDir are required");
        }
        checkDType(dtype);
        ControlNetConfig config = ControlNetConfig.of(family, scale);
        Path target = outDir.toAbsolutePath().normalize();
        checkReplaceable(target);
        CacheLock.removeAbandoned(target, ".");
        long parameters = staged(target, staging -> {
            ControlNetGraph graph = ControlNetGraph.build(config, new Weights(seed), dtype);
            Json.write(staging.resolve("config.json"), config.toDiffusersConfig());
            graph.write(staging.resolve(MODEL_FILE), defaultUnetPolicy(scale));
            return graph.parameterCount();
        });
        long bytes = sizeOf(target);
        LOG.info("wrote {} {} {} ControlNet to {} ({} parameters, {} bytes)", family.cliName(), scale.cliName(),
                dtype.name().toLowerCase(Locale.ROOT), target, parameters, bytes);
        return new ControlNetFolder(target, family, scale, dtype, seed, parameters, bytes);
    }

    static void checkDType(DType dtype) {
        if (!DTYPES.contains(dtype)) {
            throw new IllegalArgumentException("synthetic weights cannot be " + dtype + "; expected one of " + DTYPES);
        }
    }

    /**
     * Fills a staging folder beside {@code target} and renames it into place; on failure the staging
     * folder is removed and nothing is left at {@code target}.
     */
    static <T> T staged(Path target, Function<Path, T> fill) {
        Path staging = createStaging(target);
        try {
            T result = fill.apply(staging);
            moveIntoPlace(staging, target);
            return result;
        } catch (RuntimeException | Error e) {
            deleteRecursively(staging);
            throw e;
        }
    }

    private static Map<String, Long> writeComponents(Path dir, Family family, FamilyPreset preset, DType dtype,
                                                     Weights weights, BpeVocabulary vocabulary,
                                                     ExternalDataPolicy unetPolicy, boolean controlNetResiduals) {
        List<String> components = PipelineIndex.components(family);
        if (components.contains("low_res_scheduler")) {
            Json.write(folder(dir, "low_res_scheduler").resolve(SCHEDULER_FILE),
                    SchedulerConfigs.lowResolution(family));
        }
        Json.write(folder(dir, "scheduler").resolve(SCHEDULER_FILE), SchedulerConfigs.of(family));
        TokenizerFiles.write(folder(dir, "tokenizer"), vocabulary, BpeVocabulary.END_OF_TEXT);
        if (preset.textEncoder2() != null) {
            TokenizerFiles.write(folder(dir, "tokenizer_2"), vocabulary, TokenizerFiles.EXCLAMATION_PAD);
        }
        Map<String, Long> parameters = new LinkedHashMap<>();
        writeModel(dir, "text_encoder", preset.textEncoder().toDiffusersConfig(),
                ClipTextEncoderGraph.build(preset.textEncoder(), weights, dtype), ExternalDataPolicy.AUTO, parameters);
        if (preset.textEncoder2() != null) {
            writeModel(dir, "text_encoder_2", preset.textEncoder2().toDiffusersConfig(),
                    ClipTextEncoderGraph.build(preset.textEncoder2(), weights, dtype), ExternalDataPolicy.AUTO,
                    parameters);
        }
        if (preset.textEncoder3() != null) {
            T5TokenizerFiles.write(folder(dir, "tokenizer_3"), UnigramVocabulary.small());
            writeModel(dir, "text_encoder_3", preset.textEncoder3().toDiffusersConfig(),
                    T5EncoderGraph.build(preset.textEncoder3(), weights, dtype), ExternalDataPolicy.AUTO, parameters);
        }
        if (preset.transformer() != null) {
            writeModel(dir, "transformer", preset.transformer().toDiffusersConfig(),
                    Sd3TransformerGraph.build(preset.transformer(), weights, dtype), unetPolicy, parameters);
        } else {
            writeModel(dir, "unet", preset.unet().toDiffusersConfig(),
                    UNetGraph.build(preset.unet(), weights, dtype, controlNetResiduals), unetPolicy, parameters);
        }
        if (components.contains("vae_encoder")) {
            writeModel(dir, "vae_encoder", preset.vae().toDiffusersConfig(),
                    VaeGraphs.encoder(preset.vae(), weights, dtype), ExternalDataPolicy.AUTO, parameters);
        }
        writeModel(dir, "vae_decoder", preset.vae().toDiffusersConfig(),
                VaeGraphs.decoder(preset.vae(), weights, dtype), ExternalDataPolicy.AUTO, parameters);
        return parameters;
    }

    static void writeModel(Path dir, String component, Map<String, Object> config, GraphBuilder graph,
                                   ExternalDataPolicy policy, Map<String, Long> parameters) {
        Path folder = folder(dir, component);
        Json.write(folder.resolve("config.json"), config);
        graph.write(folder.resolve(MODEL_FILE), policy);
        parameters.put(component, graph.parameterCount());
        LOG.debug("wrote {} ({} parameters)", component, graph.parameterCount());
    }

    static Path folder(Path dir, String name) {
        Path folder = dir.resolve(name);
        try {
            return Files.createDirectories(folder);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create folder " + folder + ": " + e, e);
        }
    }

    /** Fails unless {@code target} is absent or an empty folder. */
    static void checkReplaceable(Path target) {
        if (Files.exists(target) && !Files.isDirectory(target)) {
            throw new IllegalArgumentException("output folder " + target + " exists and is not a folder");
        }
        if (!Files.isDirectory(target)) {
            return;
        }
        try (Stream<Path> entries = Files.list(target)) {
            if (entries.findAny().isPresent()) {
                throw new IllegalArgumentException("output folder " + target
                        + " is not empty; remove it or choose a new folder");
            }
        } catch (IOException e) {
            throw new IllegalArgumentException("output folder " + target + " cannot be read: " + e, e);
        }
    }

    private static Path createStaging(Path target) {
        Path parent = target.getParent();
        if (parent == null) {
            throw new IllegalArgumentException("output folder " + target + " has no parent folder to write in");
        }
        try {
            Files.createDirectories(parent);
            // not Files.createTempDirectory: its owner-only permissions would stay on the finished folder
            for (int attempt = 0; ; attempt++) {
                try {
                    return Files.createDirectory(CacheLock.temporarySibling(target, "."));
                } catch (FileAlreadyExistsException e) {
                    if (attempt == 9 || !Files.isDirectory(parent)) {
                        throw e;
                    }
                }
            }
        } catch (FileAlreadyExistsException e) {
            throw new IllegalArgumentException("cannot create output folder " + target + ": " + e.getFile()
                    + " exists and is not a folder", e);
        } catch (FileSystemException e) {
            throw new IllegalArgumentException("cannot write output folder " + target + ": "
                    + (e.getReason() == null ? e.getClass().getSimpleName() : e.getReason()) + " (" + e.getFile()
                    + ")", e);
        } catch (IOException e) {
            throw new IllegalArgumentException("cannot write output folder " + target + ": " + e, e);
        }
    }

    /** Renames the finished staging folder to {@code target} (absent or an empty folder). */
    private static void moveIntoPlace(Path staging, Path target) {
        try {
            Files.deleteIfExists(target);
            Files.move(staging, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot move the finished folder " + staging + " to " + target + ": " + e, e);
        }
    }

    /** Bytes of all regular files under {@code dir}. */
    public static long sizeOf(Path dir) {
        try (Stream<Path> files = Files.walk(dir)) {
            return files.filter(Files::isRegularFile).mapToLong(file -> {
                try {
                    return Files.size(file);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read the size of " + file, e);
                }
            }).sum();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir, e);
        }
    }

    private static void deleteRecursively(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException | UncheckedIOException e) {
            LOG.warn("could not delete temporary folder {}: {}", dir, e.toString());
        }
    }
}
