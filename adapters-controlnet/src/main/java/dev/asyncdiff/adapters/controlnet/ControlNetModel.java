package dev.asyncdiff.adapters.controlnet;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * An exported ControlNet folder: {@code model.onnx} (+ {@code model.onnx_data}) and diffusers' {@code config.json}
 * beside it, or the same inside a {@code controlnet/} subfolder (OnnxStack's layout).
 *
 * @param folder          the folder as given
 * @param modelFile       the ControlNet's ONNX graph
 * @param name            what parameters texts call it (the folder's name)
 * @param bgr             {@code controlnet_conditioning_channel_order} is {@code bgr}: the control image's channels
 *                        are fed in reverse
 * @param globalPool      {@code global_pool_conditions}: residuals are averaged over space, and guess mode is forced
 * @param crossAttention  its {@code cross_attention_dim}, or 0 when the config does not say
 * @param textTime        whether it takes SDXL's {@code text_embeds} and {@code time_ids}
 *                        ({@code addition_embed_type} {@code text_time})
 */
public record ControlNetModel(Path folder, Path modelFile, String name, boolean bgr, boolean globalPool,
                              int crossAttention, boolean textTime) {
    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * Reads the ControlNet folder at {@code folder}.
     *
     * @throws ModelNotFoundException  when it holds neither {@code model.onnx} nor {@code controlnet/model.onnx}
     * @throws MalformedModelException when its {@code config.json} is not valid JSON or names an unknown channel order
     */
    public static ControlNetModel open(Path folder) {
        if (folder == null) {
            throw new IllegalArgumentException("a ControlNet folder is required");
        }
        if (!Files.isDirectory(folder)) {
            throw new ModelNotFoundException(folder, "ControlNet folder");
        }
        Path root = Files.isRegularFile(folder.resolve("model.onnx")) ? folder : folder.resolve("controlnet");
        Path model = root.resolve("model.onnx");
        if (!Files.isRegularFile(model)) {
            throw new ModelNotFoundException(folder.resolve("model.onnx"),
                    "ControlNet graph (model.onnx, or controlnet/model.onnx) of the ControlNet folder");
        }
        JsonNode config = readConfig(root.resolve("config.json"));
        String order = config.path("controlnet_conditioning_channel_order").asText("rgb").toLowerCase(Locale.ROOT);
        if (!order.equals("rgb") && !order.equals("bgr")) {
            throw new MalformedModelException(root.resolve("config.json"), "controlnet_conditioning_channel_order is '"
                    + order + "'; expected 'rgb' or 'bgr'");
        }
        Path named = folder.toAbsolutePath().normalize();
        return new ControlNetModel(folder, model, named.getFileName() == null ? "controlnet"
                : named.getFileName().toString(), order.equals("bgr"), config.path("global_pool_conditions").asBoolean(false),
                config.path("cross_attention_dim").asInt(0), config.path("addition_embed_type").asText("").equals("text_time"));
    }

    private static JsonNode readConfig(Path file) {
        if (!Files.isRegularFile(file)) {
            return JSON.createObjectNode();
        }
        try {
            JsonNode root = JSON.readTree(file.toFile());
            return root == null ? JSON.createObjectNode() : root;
        } catch (IOException e) {
            throw new MalformedModelException(file, "not valid JSON: " + e.getMessage());
        }
    }
}
