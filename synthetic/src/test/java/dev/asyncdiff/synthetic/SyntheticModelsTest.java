package dev.asyncdiff.synthetic;

import static org.assertj.core.api.Assertions.assertThat;

import ai.onnxruntime.OnnxJavaType;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.TensorInfo;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.DType;
import dev.asyncdiff.onnx.graph.ExternalDataPolicy;
import dev.asyncdiff.synthetic.OrtRunner.Input;
import dev.asyncdiff.synthetic.OrtRunner.Output;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/** Tiny folders of every family: complete, runnable in ONNX Runtime with the standard I/O, consistent. */
class SyntheticModelsTest {
    static final int BATCH = 2;
    static final int LATENT = 16;
    static final int VAE_LATENT = 8;
    private static final ObjectMapper MAPPER = new ObjectMapper();
    private static final long SEED = 1234;
    private static final Map<Family, SyntheticFolder> FOLDERS = new EnumMap<>(Family.class);

    @TempDir
    static Path shared;

    @TempDir
    Path dir;

    /** The tiny fp32 BPE folder of {@code family}, written once per test class. */
    static synchronized SyntheticFolder tiny(Family family) {
        return FOLDERS.computeIfAbsent(family, f -> SyntheticModels.write(f, Scale.TINY, DType.FP32, SEED,
                TokenizerKind.BPE, shared.resolve(f.cliName())));
    }

    static List<String> expectedFiles(Family family) {
        List<String> files = new ArrayList<>(List.of("model_index.json", "scheduler/scheduler_config.json"));
        if (family.upscaler()) {
            files.add("low_res_scheduler/scheduler_config.json");
        }
        List<String> tokenizers = family.base() == Family.SDXL ? List.of("tokenizer", "tokenizer_2") : List.of("tokenizer");
        for (String tokenizer : tokenizers) {
            for (String file : TokenizerFiles.FILES) {
                files.add(tokenizer + "/" + file);
            }
        }
        List<String> models = new ArrayList<>(List.of("text_encoder", "unet", "vae_decoder"));
        if (!family.upscaler()) {
            models.add("vae_encoder");
        }
        if (family.base() == Family.SDXL) {
            models.add("text_encoder_2");
        }
        for (String model : models) {
            files.add(model + "/config.json");
            files.add(model + "/model.onnx");
        }
        return files;
    }

    private static JsonNode json(Path file) throws IOException {
        return MAPPER.readTree(file.toFile());
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // image UNets; SD 3, video: own tests
    void folderHoldsEveryFileAndNothingElse(Family family) throws IOException {
        SyntheticFolder folder = tiny(family);
        Path root = folder.directory();
        List<String> present;
        try (var walk = Files.walk(root)) {
            present = walk.filter(Files::isRegularFile).map(p -> root.relativize(p).toString().replace('\\', '/'))
                    .sorted().toList();
        }
        assertThat(present).containsExactlyInAnyOrderElementsOf(expectedFiles(family));
        assertThat(folder.totalBytes()).isEqualTo(SyntheticModels.sizeOf(root)).isLessThan(40L << 20);
        if (root.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            Path probe = Files.createDirectory(root.resolveSibling("probe-" + family.cliName()));
            assertThat(Files.getPosixFilePermissions(root)).as("folder permissions follow the umask")
                    .isEqualTo(Files.getPosixFilePermissions(probe));
            Files.delete(probe);
        }
        try (var siblings = Files.list(root.getParent())) {
            assertThat(siblings.map(p -> p.getFileName().toString())).noneMatch(name -> name.contains(".tmp-"));
        }
        JsonNode index = json(root.resolve("model_index.json"));
        assertThat(index.get("_class_name").asText()).isEqualTo(PipelineIndex.pipelineClass(family));
        JsonNode decoder = json(root.resolve("vae_decoder/config.json"));
        assertThat(decoder.get("scaling_factor").asDouble())
                .isEqualTo(family.base() == Family.SDXL ? 0.13025 : family.upscaler() ? 0.08333 : 0.18215);
        assertThat(json(root.resolve("unet/config.json")).get("_class_name").asText())
                .isEqualTo("UNet2DConditionModel");
        assertThat(json(root.resolve("scheduler/scheduler_config.json")).get("_class_name").asText())
                .isEqualTo(SchedulerConfigs.of(family).get("_class_name"));
        assertThat(folder.parameterCounts()).containsOnlyKeys(family.base() == Family.SDXL
                ? List.of("text_encoder", "text_encoder_2", "unet", "vae_encoder", "vae_decoder")
                : family.upscaler() ? List.of("text_encoder", "unet", "vae_decoder")
                : List.of("text_encoder", "unet", "vae_encoder", "vae_decoder"));
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // image UNets; SD 3, video: own tests
    void tokenizerVocabularyMatchesTextEncoders(Family family) throws IOException {
        Path root = tiny(family).directory();
        int vocab = json(root.resolve("tokenizer/vocab.json")).size();
        assertThat(vocab).isEqualTo(SmallBpe.vocabulary().size()).isEqualTo(tiny(family).vocabSize());
        assertThat(json(root.resolve("text_encoder/config.json")).get("vocab_size").asInt()).isEqualTo(vocab);
        assertThat(json(root.resolve("tokenizer/tokenizer_config.json")).get("pad_token").asText())
                .isEqualTo(BpeVocabulary.END_OF_TEXT);
        if (family.base() == Family.SDXL) {
            assertThat(json(root.resolve("tokenizer_2/vocab.json")).size()).isEqualTo(vocab);
            assertThat(json(root.resolve("text_encoder_2/config.json")).get("vocab_size").asInt()).isEqualTo(vocab);
            assertThat(json(root.resolve("tokenizer_2/special_tokens_map.json")).get("pad_token").asText())
                    .isEqualTo("!");
        }
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // image UNets; SD 3, video: own tests
    void textEncodersRunWithStandardNames(Family family) throws OrtException {
        SyntheticFolder folder = tiny(family);
        FamilyPreset preset = FamilyPreset.of(family, Scale.TINY).withVocabSize(folder.vocabSize());
        checkTextEncoder(folder.directory().resolve("text_encoder/model.onnx"), preset.textEncoder());
        if (family.base() == Family.SDXL) {
            checkTextEncoder(folder.directory().resolve("text_encoder_2/model.onnx"), preset.textEncoder2());
        }
    }

    /** input_ids: bos, some tokens, eos, then padding; batch rows differ. */
    static Input tokenIds(ClipTextConfig config) {
        int length = config.maxPositionEmbeddings();
        return Input.of(i -> {
            long row = i / length;
            long position = i % length;
            if (position == 0) {
                return config.bosTokenId();
            }
            if (position < 6 + row) {
                return (position * 37 + row * 11) % (config.vocabSize() - 2);
            }
            return config.eosTokenId();
        }, BATCH, length);
    }

    static void checkTextEncoder(Path model, ClipTextConfig config) throws OrtException {
        Map<String, Output> outputs = OrtRunner.run(model, Map.of("input_ids", tokenIds(config)));
        long hidden = config.hiddenSize();
        List<String> expected = new ArrayList<>();
        if (config.withProjection()) {
            expected.add("text_embeds");
            assertThat(outputs.get("text_embeds").shape()).containsExactly(BATCH, config.projectionDim());
        } else {
            expected.add("pooler_output");
            assertThat(outputs.get("pooler_output").shape()).containsExactly(BATCH, hidden);
        }
        expected.add("last_hidden_state");
        if (config.outputHiddenStates()) {
            for (int layer = 0; layer <= config.numHiddenLayers(); layer++) {
                expected.add("hidden_states." + layer);
            }
        }
        assertThat(outputs.keySet()).as("outputs of " + model).containsExactlyInAnyOrderElementsOf(expected);
        outputs.forEach((name, output) -> {
            output.assertFiniteAndVaried(model + " " + name);
            if (!name.equals("text_embeds") && !name.equals("pooler_output")) {
                assertThat(output.shape()).as(name).containsExactly(BATCH, config.maxPositionEmbeddings(), hidden);
            }
        });
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // image UNets; SD 3, video: own tests
    void unetRunsWithStandardNames(Family family) throws OrtException {
        SyntheticFolder folder = tiny(family);
        UNetConfig config = FamilyPreset.of(family, Scale.TINY).unet();
        Output out = runUnet(folder.directory().resolve("unet/model.onnx"), config);
        assertThat(out.shape()).containsExactly(BATCH, config.outChannels(), LATENT, LATENT);
        out.assertFiniteAndVaried(family + " out_sample");
    }

    static Output runUnet(Path model, UNetConfig config) throws OrtException {
        Map<String, TensorInfo> declared = OrtRunner.inputInfo(model);
        TensorInfo timestep = declared.get("timestep");
        assertThat(timestep).as("timestep input").isNotNull();
        assertThat(timestep.type).isIn(OnnxJavaType.FLOAT, OnnxJavaType.FLOAT16, OnnxJavaType.INT64);
        long[] timestepShape = timestep.getShape().clone();
        for (int i = 0; i < timestepShape.length; i++) {
            timestepShape[i] = timestepShape[i] < 0 ? BATCH : timestepShape[i];
        }
        Map<String, Input> inputs = new LinkedHashMap<>();
        inputs.put("sample", Input.random(1, BATCH, config.inChannels(), LATENT, LATENT));
        inputs.put("timestep", Input.of(i -> 981, timestepShape));
        inputs.put("encoder_hidden_states", Input.random(2, BATCH, config.sequenceLength(),
                config.crossAttentionDim()));
        if (config.hasAddEmbedding()) {
            inputs.put("text_embeds", Input.random(3, BATCH, config.textEmbedsDim()));
            double[] timeIds = {128, 128, 0, 0, 128, 128};
            inputs.put("time_ids", Input.of(i -> timeIds[(int) (i % UNetConfig.TIME_IDS)], BATCH,
                    UNetConfig.TIME_IDS));
        }
        if (config.hasClassEmbedding()) {
            inputs.put("class_labels", Input.of(i -> 20, BATCH));
        }
        Map<String, Output> outputs = OrtRunner.run(model, inputs);
        assertThat(outputs).containsOnlyKeys("out_sample");
        return outputs.get("out_sample");
    }

    @ParameterizedTest
    @EnumSource(value = Family.class, names = {"SD3", "SVD", "ANIMATEDIFF"}, mode = EnumSource.Mode.EXCLUDE) // image UNets; SD 3, video: own tests
    void vaeRunsWithStandardNames(Family family) throws OrtException {
        Path root = tiny(family).directory();
        VaeConfig config = FamilyPreset.of(family, Scale.TINY).vae();
        int pixels = VAE_LATENT * config.downscaleFactor();
        Map<String, Output> decoded = OrtRunner.run(root.resolve("vae_decoder/model.onnx"),
                Map.of("latent_sample", Input.random(4, BATCH, config.latentChannels(), VAE_LATENT, VAE_LATENT)));
        assertThat(decoded).containsOnlyKeys("sample");
        assertThat(decoded.get("sample").assertFiniteAndVaried(family + " sample").shape())
                .containsExactly(BATCH, config.outChannels(), pixels, pixels);
        if (family.upscaler()) {
            assertThat(root.resolve("vae_encoder")).as("the upscale pipeline never encodes").doesNotExist();
            return;
        }
        Map<String, Output> encoded = OrtRunner.run(root.resolve("vae_encoder/model.onnx"),
                Map.of("sample", Input.of(i -> Math.sin(i * 0.01), BATCH, config.inChannels(), pixels, pixels)));
        assertThat(encoded).containsOnlyKeys("latent_parameters");
        assertThat(encoded.get("latent_parameters").assertFiniteAndVaried(family + " latent_parameters").shape())
                .containsExactly(BATCH, 2L * config.latentChannels(), VAE_LATENT, VAE_LATENT);
    }

    @Test
    void sameSeedWritesIdenticalFilesAndAnotherSeedDifferentWeights() throws IOException {
        Path first = tiny(Family.SDXL).directory();
        SyntheticFolder again = SyntheticModels.write(Family.SDXL, Scale.TINY, DType.FP32, SEED, TokenizerKind.BPE,
                dir.resolve("again"));
        for (String file : expectedFiles(Family.SDXL)) {
            assertThat(again.directory().resolve(file)).as(file).hasSameBinaryContentAs(first.resolve(file));
        }
        SyntheticFolder other = SyntheticModels.write(Family.SDXL, Scale.TINY, DType.FP32, SEED + 1,
                TokenizerKind.BPE, dir.resolve("other"));
        assertThat(Files.readAllBytes(other.directory().resolve("unet/model.onnx")))
                .isNotEqualTo(Files.readAllBytes(first.resolve("unet/model.onnx")));
        assertThat(other.directory().resolve("unet/config.json"))
                .hasSameBinaryContentAs(first.resolve("unet/config.json"));
    }

    @Test
    void externalUnetDataRoundTrips() throws Exception {
        SyntheticFolder external = SyntheticModels.write(Family.SD15, Scale.TINY, DType.FP32, SEED,
                TokenizerKind.BPE, ExternalDataPolicy.EXTERNAL, dir.resolve("external"));
        Path unet = external.directory().resolve("unet");
        assertThat(unet.resolve("model.onnx_data")).isRegularFile();
        assertThat(Files.size(unet.resolve("model.onnx_data"))).isGreaterThan(4 * Files.size(unet.resolve("model.onnx")));
        assertThat(tiny(Family.SD15).directory().resolve("unet/model.onnx_data")).doesNotExist();
        UNetConfig config = FamilyPreset.of(Family.SD15, Scale.TINY).unet();
        Output fromExternal = runUnet(unet.resolve("model.onnx"), config);
        Output fromInline = runUnet(tiny(Family.SD15).directory().resolve("unet/model.onnx"), config);
        assertThat(fromExternal.values()).containsExactly(fromInline.values());
    }

    @Test
    void fp16FolderRuns() throws OrtException {
        SyntheticFolder folder = SyntheticModels.write(Family.SD21, Scale.TINY, DType.FP16, SEED, TokenizerKind.BPE,
                dir.resolve("half"));
        assertThat(folder.dtype()).isEqualTo(DType.FP16);
        UNetConfig config = FamilyPreset.of(Family.SD21, Scale.TINY).unet();
        Path unet = folder.directory().resolve("unet/model.onnx");
        assertThat(OrtRunner.inputInfo(unet).get("sample").type).isEqualTo(OnnxJavaType.FLOAT16);
        runUnet(unet, config).assertFiniteAndVaried("fp16 out_sample");
        FamilyPreset preset = FamilyPreset.of(Family.SD21, Scale.TINY).withVocabSize(folder.vocabSize());
        checkTextEncoder(folder.directory().resolve("text_encoder/model.onnx"), preset.textEncoder());
    }
}
