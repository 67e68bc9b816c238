package dev.asyncdiff.adapters.sd;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;

/**
 * An exported Stable Diffusion model folder whose family was detected from its
 * {@code model_index.json} {@code _class_name} and its contents, never from its name: XL pipelines
 * by class, SD 2.x apart from 1.x by the text encoder's width ({@code hidden_size} 1024 vs 768),
 * else its activation ({@code gelu} for OpenCLIP, {@code quick_gelu} for OpenAI CLIP), else the
 * scheduler's {@code prediction_type}.
 *
 * @param directory    the folder
 * @param family       the detected family
 * @param pipelineClass the {@code _class_name} of {@code model_index.json}
 * @param modelIndex   the parsed {@code model_index.json}
 */
public record ModelFolder(Path directory, ModelFamily family, String pipelineClass, JsonNode modelIndex) {
    /** The file naming the pipeline class. */
    public static final String MODEL_INDEX = "model_index.json";
    /** The {@code _class_name}s accepted (a leading {@code ORT} or {@code Onnx} is ignored). */
    public static final Set<String> PIPELINE_CLASSES = Set.of("StableDiffusionPipeline",
            "StableDiffusionImg2ImgPipeline", "StableDiffusionXLPipeline", "StableDiffusionXLImg2ImgPipeline",
            "StableDiffusionInpaintPipeline", "StableDiffusionXLInpaintPipeline", "StableDiffusion3Pipeline",
            "StableDiffusion3Img2ImgPipeline", "StableDiffusionUpscalePipeline");
    /** diffusers' {@code max_noise_level} of the x4 upscaler when {@code model_index.json} gives none. */
    private static final int DEFAULT_MAX_NOISE_LEVEL = 350;
    /** The file name of each component's ONNX model. */
    public static final String MODEL_FILE = "model.onnx";
    /** SD 3's text stream at diffusers' default {@code max_sequence_length}: 77 CLIP tokens and 256 T5 tokens. */
    private static final int SD3_TEXT_TOKENS = 77 + 256;
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Detects the family of the folder at {@code directory} and checks that every file the family
     * needs is there.
     *
     * @throws ModelNotFoundException  when the folder or its {@code model_index.json} is missing
     * @throws MalformedModelException when the pipeline class is not a supported one, or files are
     *                                 missing (listing what was found and what is missing)
     */
    public static ModelFolder open(Path directory) {
        if (!Files.isDirectory(directory)) {
            throw new ModelNotFoundException(directory, "model folder");
        }
        Path indexFile = directory.resolve(MODEL_INDEX);
        if (!Files.isRegularFile(indexFile)) {
            throw new MalformedModelException(directory, "not an exported diffusers model folder: found "
                    + found(directory) + "; missing " + MODEL_INDEX);
        }
        JsonNode index = readJson(indexFile);
        String className = index.path("_class_name").asText("");
        String normalized = className.replaceFirst("^(ORT|Onnx)", "");
        if (!PIPELINE_CLASSES.contains(normalized)) {
            throw new MalformedModelException(indexFile, "_class_name '" + className + "' is not a supported "
                    + "pipeline; expected one of " + PIPELINE_CLASSES.stream().sorted().toList());
        }
        boolean xl = normalized.startsWith("StableDiffusionXL");
        if (normalized.startsWith("StableDiffusion3")) {
            return openSd3(directory, className, index);
        }
        if (normalized.equals("StableDiffusionUpscalePipeline")) {
            requireFiles(directory, className, "Stable Diffusion x4 upscaler", upscalerRequiredFiles());
            return new ModelFolder(directory, ModelFamily.X4_UPSCALER, className, index);
        }
        List<String> missing = new ArrayList<>();
        for (String required : requiredFiles(xl)) {
            if (!Files.isRegularFile(directory.resolve(required))) {
                missing.add(required);
            }
        }
        if (!missing.isEmpty()) {
            throw new MalformedModelException(directory, "incomplete " + (xl ? "Stable Diffusion XL" : "Stable Diffusion")
                    + " folder (" + className + "): found " + found(directory) + "; missing " + String.join(", ", missing));
        }
        ModelFamily family = xl ? ModelFamily.SDXL : sd1or2(directory);
        return new ModelFolder(directory, family, className, index);
    }

    /**
     * Whether {@code directory} holds a {@code model_index.json} naming a supported pipeline class;
     * reads that file only.
     */
    public static boolean looksSupported(Path directory) {
        Path indexFile = directory.resolve(MODEL_INDEX);
        if (!Files.isRegularFile(indexFile)) {
            return false;
        }
        try {
            String className = JSON.readTree(indexFile.toFile()).path("_class_name").asText("");
            return PIPELINE_CLASSES.contains(className.replaceFirst("^(ORT|Onnx)", ""));
        } catch (IOException e) {
            return false;
        }
    }

    /** The files a folder of the family must hold, relative to it. */
    static List<String> requiredFiles(boolean xl) {
        List<String> files = new ArrayList<>(List.of("scheduler/scheduler_config.json", "tokenizer/vocab.json",
                "tokenizer/merges.txt", "text_encoder/" + MODEL_FILE));
        if (xl) {
            files.addAll(List.of("tokenizer_2/vocab.json", "tokenizer_2/merges.txt", "text_encoder_2/" + MODEL_FILE));
        }
        files.addAll(List.of("unet/" + MODEL_FILE, "vae_decoder/" + MODEL_FILE));
        return files;
    }

    /**
     * An SD 3 folder: two CLIP tokenizers and encoders, the transformer and the VAE decoder;
     * {@code text_encoder_3} is optional (diffusers then conditions on zeros) but, when present,
     * needs its {@code tokenizer_3}.
     */
    private static ModelFolder openSd3(Path directory, String className, JsonNode index) {
        List<String> missing = new ArrayList<>();
        for (String required : sd3RequiredFiles()) {
            if (!Files.isRegularFile(directory.resolve(required))) {
                missing.add(required);
            }
        }
        if (Files.isRegularFile(directory.resolve("text_encoder_3/" + MODEL_FILE))
                && !Files.isRegularFile(directory.resolve("tokenizer_3/tokenizer.json"))
                && !Files.isRegularFile(directory.resolve("tokenizer_3/spiece.model"))) {
            missing.add("tokenizer_3/tokenizer.json or tokenizer_3/spiece.model (text_encoder_3 needs its tokenizer)");
        }
        if (!missing.isEmpty()) {
            throw new MalformedModelException(directory, "incomplete Stable Diffusion 3 folder (" + className
                    + "): found " + found(directory) + "; missing " + String.join(", ", missing));
        }
        return new ModelFolder(directory, ModelFamily.SD3, className, index);
    }

    /** The files an SD 3 folder must hold, relative to it ({@code text_encoder_3} is optional). */
    static List<String> sd3RequiredFiles() {
        return List.of("scheduler/scheduler_config.json", "tokenizer/vocab.json", "tokenizer/merges.txt",
                "text_encoder/" + MODEL_FILE, "tokenizer_2/vocab.json", "tokenizer_2/merges.txt",
                "text_encoder_2/" + MODEL_FILE, "transformer/" + MODEL_FILE, "vae_decoder/" + MODEL_FILE);
    }

    /** The files an x4 upscaler folder must hold, relative to it (it never encodes, so no {@code vae_encoder}). */
    static List<String> upscalerRequiredFiles() {
        return List.of("scheduler/scheduler_config.json", "low_res_scheduler/scheduler_config.json",
                "tokenizer/vocab.json", "tokenizer/merges.txt", "text_encoder/" + MODEL_FILE, "unet/" + MODEL_FILE,
                "vae_decoder/" + MODEL_FILE);
    }

    private static void requireFiles(Path directory, String className, String what, List<String> required) {
        List<String> missing = required.stream().filter(file -> !Files.isRegularFile(directory.resolve(file))).toList();
        if (!missing.isEmpty()) {
            throw new MalformedModelException(directory, "incomplete " + what + " folder (" + className + "): found "
                    + found(directory) + "; missing " + String.join(", ", missing));
        }
    }

    /** The upscaler's {@code low_res_scheduler/scheduler_config.json}: how the low-resolution image is noised. */
    public Path lowResSchedulerConfig() {
        return directory.resolve("low_res_scheduler/scheduler_config.json");
    }

    /** The largest noise level the upscaler was trained with ({@code model_index.json} {@code max_noise_level}). */
    public int maxNoiseLevel() {
        return modelIndex.path("max_noise_level").asInt(DEFAULT_MAX_NOISE_LEVEL);
    }

    /** How many times the UNet halves its input per side: 2^(levels − 1) of its {@code block_out_channels}. */
    public int unetSizeMultiple() {
        JsonNode channels = config("unet").path("block_out_channels");
        return channels.isArray() && !channels.isEmpty() ? 1 << (channels.size() - 1) : 8;
    }

    /** Whether the folder has SD 3's T5 encoder. */
    public boolean hasT5() {
        return Files.isRegularFile(modelFile("text_encoder_3"));
    }

    private static ModelFamily sd1or2(Path directory) {
        JsonNode encoder = optionalJson(directory.resolve("text_encoder/config.json"));
        int width = encoder.path("hidden_size").asInt(0);
        if (width == 1024) {
            return ModelFamily.SD21;
        }
        if (width == 768) {
            return ModelFamily.SD15;
        }
        String activation = encoder.path("hidden_act").asText("");
        if (activation.equals("gelu")) {
            return ModelFamily.SD21;
        }
        if (activation.equals("quick_gelu")) {
            return ModelFamily.SD15;
        }
        JsonNode scheduler = optionalJson(directory.resolve("scheduler/scheduler_config.json"));
        return scheduler.path("prediction_type").asText("epsilon").equals("v_prediction") ? ModelFamily.SD21
                : ModelFamily.SD15;
    }

    /** A model file of the folder, e.g. {@code component("unet")} for {@code unet/model.onnx}. */
    public Path modelFile(String component) {
        return directory.resolve(component).resolve(MODEL_FILE);
    }

    /** Whether the folder has a VAE encoder (needed for image-to-image). */
    public boolean hasVaeEncoder() {
        return Files.isRegularFile(modelFile("vae_encoder"));
    }

    /** The {@code config.json} of {@code component}, or an empty object when it has none. */
    public JsonNode config(String component) {
        return optionalJson(directory.resolve(component).resolve("config.json"));
    }

    /** The scheduler's {@code scheduler_config.json}. */
    public Path schedulerConfig() {
        return directory.resolve("scheduler/scheduler_config.json");
    }

    /** How many times larger the image is than the latent per side: 2^(VAE levels - 1), else 8. */
    public int vaeScaleFactor() {
        JsonNode channels = config("vae_decoder").path("block_out_channels");
        if (!channels.isArray() || channels.isEmpty()) {
            channels = config("vae_encoder").path("block_out_channels");
        }
        return channels.isArray() && !channels.isEmpty() ? 1 << (channels.size() - 1) : 8;
    }

    /** The default image side: the denoiser's {@code sample_size} times the VAE factor, else the family's. */
    public int defaultImageSize() {
        JsonNode sample = config(family == ModelFamily.SD3 ? "transformer" : "unet").path("sample_size");
        return sample.canConvertToInt() && sample.asInt() > 0 ? sample.asInt() * vaeScaleFactor()
                : family.defaultImageSize();
    }

    /**
     * The UNet's {@code in_channels}: 4 for text-to-image UNets, 9 for inpainting ones (latents, mask,
     * masked-image latents).
     */
    public int unetInChannels() {
        return config("unet").path("in_channels").asInt(4);
    }

    /**
     * The UNet's inputs at batch 1 for latents of {@code latentHeight × latentWidth}, from what the
     * folder says: {@code sample} from {@code unet/config.json} {@code in_channels}; {@code encoder_hidden_states}
     * from the tokenizer's {@code model_max_length} and the UNet's {@code cross_attention_dim}; for SDXL,
     * {@code text_embeds} from {@code text_encoder_2}'s {@code projection_dim} and {@code time_ids}
     * ({@link #sdxlTimeIdCount()}); for SD 3, the transformer's {@code hidden_states}, its text stream at
     * 77 CLIP + 256 T5 tokens (the components keep that axis dynamic) and {@code pooled_projections}. An input whose size the folder does not say is left out; the
     * splitter then relies on the export's own fixed dimensions.
     */
    public Map<String, long[]> denoiserInputShapes(int latentHeight, int latentWidth) {
        Map<String, long[]> shapes = new LinkedHashMap<>();
        if (family == ModelFamily.SD3) {
            JsonNode transformer = config("transformer");
            shapes.put("hidden_states", new long[] {1, transformer.path("in_channels").asInt(16), latentHeight,
                    latentWidth});
            int joint = transformer.path("joint_attention_dim").asInt(0);
            if (joint > 0) {
                shapes.put("encoder_hidden_states", new long[] {1, SD3_TEXT_TOKENS, joint});
            }
            int pooled = transformer.path("pooled_projection_dim").asInt(0);
            if (pooled > 0) {
                shapes.put("pooled_projections", new long[] {1, pooled});
            }
            return shapes;
        }
        JsonNode unet = config("unet");
        shapes.put("sample", new long[] {1, unet.path("in_channels").asInt(4), latentHeight, latentWidth});
        int tokens = tokenizerLength("tokenizer");
        JsonNode cross = unet.path("cross_attention_dim");
        if (tokens > 0 && cross.canConvertToInt() && cross.asInt() > 0) {
            shapes.put("encoder_hidden_states", new long[] {1, tokens, cross.asInt()});
        }
        if (unet.path("num_class_embeds").asInt(0) > 0) {
            shapes.put("class_labels", new long[] {1});
        }
        if (family.isXl()) {
            int projection = config("text_encoder_2").path("projection_dim").asInt(0);
            if (projection > 0) {
                shapes.put("text_embeds", new long[] {1, projection});
            }
            shapes.put("time_ids", new long[] {1, sdxlTimeIdCount()});
        }
        return shapes;
    }

    /** The number of SDXL time ids the UNet's add_embedding takes: 6, or 5 when it was trained with an aesthetic score. */
    public int sdxlTimeIdCount() {
        JsonNode unet = config("unet");
        int projection = unet.path("projection_class_embeddings_input_dim").asInt(0);
        int timeEmbed = unet.path("addition_time_embed_dim").asInt(0);
        int textEmbeds = config("text_encoder_2").path("projection_dim").asInt(0);
        if (projection > 0 && timeEmbed > 0 && textEmbeds > 0 && (projection - textEmbeds) % timeEmbed == 0) {
            int count = (projection - textEmbeds) / timeEmbed;
            if (count == 5 || count == 6) {
                return count;
            }
        }
        return 6;
    }

    /** The tokenizer's {@code model_max_length} (77 when unset; 0 when implausible, as HF's "no limit" 1e30). */
    private int tokenizerLength(String tokenizer) {
        JsonNode length = optionalJson(directory.resolve(tokenizer).resolve("tokenizer_config.json"))
                .path("model_max_length");
        if (length.isMissingNode()) {
            return 77;
        }
        return length.canConvertToInt() && length.asInt() > 0 && length.asInt() <= 4096 ? length.asInt() : 0;
    }

    /** SDXL's {@code force_zeros_for_empty_prompt} (true when absent, as diffusers defaults it). */
    public boolean forceZerosForEmptyPrompt() {
        return modelIndex.path("force_zeros_for_empty_prompt").asBoolean(true);
    }

    private static String found(Path directory) {
        try (Stream<Path> entries = Files.list(directory)) {
            List<String> names = entries.map(p -> p.getFileName().toString() + (Files.isDirectory(p) ? "/" : ""))
                    .sorted().toList();
            return names.isEmpty() ? "nothing" : String.join(", ", names);
        } catch (IOException e) {
            return "nothing readable (" + e.getMessage() + ")";
        }
    }

    /**
     * The JSON of {@code file}.
     *
     * @throws MalformedModelException naming the file when it cannot be read or is not JSON
     */
    public static JsonNode readJson(Path file) {
        try {
            return JSON.readTree(file.toFile());
        } catch (JsonProcessingException e) {
            throw new MalformedModelException(file, "not valid JSON: " + e.getOriginalMessage(), e);
        } catch (IOException e) {
            throw new MalformedModelException(file, "cannot be read: " + e.getMessage(), e);
        }
    }

    /** The JSON of {@code file}, or an empty object when there is no such file. */
    public static JsonNode optionalJson(Path file) {
        return Files.isRegularFile(file) ? readJson(file) : JSON.createObjectNode();
    }
}
