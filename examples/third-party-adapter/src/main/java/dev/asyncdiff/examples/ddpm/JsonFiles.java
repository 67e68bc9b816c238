package dev.asyncdiff.examples.ddpm;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Reads the JSON files of a model folder, failing with the exceptions the SPI documents: a missing
 * file is a {@link ModelNotFoundException}, a file that is not a JSON object a
 * {@link MalformedModelException}. Stateless and thread-safe.
 */
final class JsonFiles {
    private static final ObjectMapper MAPPER = new ObjectMapper();

    private JsonFiles() {
    }

    /**
     * The JSON object in {@code file}.
     *
     * @param what what the file is, for the message (e.g. {@code "UNet config (unet/config.json)"})
     * @throws ModelNotFoundException  when the file is missing
     * @throws MalformedModelException when it cannot be read or is not a JSON object
     */
    static JsonNode readObject(Path file, String what) {
        if (!Files.isRegularFile(file)) {
            throw new ModelNotFoundException(file, what);
        }
        JsonNode root;
        try {
            root = MAPPER.readTree(file.toFile());
        } catch (IOException e) {
            throw new MalformedModelException(file, what + " is not valid JSON: " + e.getMessage(), e);
        }
        if (root == null || !root.isObject()) {
            throw new MalformedModelException(file, what + " must be a JSON object, was "
                    + (root == null ? "empty" : root.getNodeType()));
        }
        return root;
    }

    /** The {@code _class_name} of the {@code model_index.json} in {@code modelDir}, or null when unreadable. */
    static String pipelineClass(Path modelDir) {
        Path index = modelDir.resolve("model_index.json");
        if (!Files.isRegularFile(index)) {
            return null;
        }
        try {
            JsonNode root = MAPPER.readTree(index.toFile());
            JsonNode name = root == null ? null : root.get("_class_name");
            return name != null && name.isTextual() ? name.asText() : null;
        } catch (IOException e) {
            return null;
        }
    }
}
