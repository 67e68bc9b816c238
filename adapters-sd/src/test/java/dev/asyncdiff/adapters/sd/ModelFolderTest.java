package dev.asyncdiff.adapters.sd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.asyncdiff.api.MalformedModelException;
import dev.asyncdiff.api.ModelNotFoundException;
import dev.asyncdiff.synthetic.Family;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ModelFolderTest {
    private static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void detectsEachSyntheticFamily() {
        ModelFolder sd15 = ModelFolder.open(TestModels.tiny(Family.SD15));
        ModelFolder sd21 = ModelFolder.open(TestModels.tiny(Family.SD21));
        ModelFolder sdxl = ModelFolder.open(TestModels.tiny(Family.SDXL));
        assertThat(sd15.family()).isEqualTo(ModelFamily.SD15);
        assertThat(sd21.family()).isEqualTo(ModelFamily.SD21);
        assertThat(sdxl.family()).isEqualTo(ModelFamily.SDXL);
        assertThat(sd15.vaeScaleFactor()).isEqualTo(8);
        assertThat(sd15.defaultImageSize()).as("tiny models default to 256 px").isEqualTo(256);
        assertThat(sd21.defaultImageSize()).isEqualTo(256);
        assertThat(sdxl.defaultImageSize()).isEqualTo(256);
        assertThat(sdxl.forceZerosForEmptyPrompt()).isTrue();
        assertThat(new SdAdapterProvider().supports(sd21.directory())).isTrue();
    }

    @Test
    void encoderWidthDecidesBetweenOneAndTwo(@TempDir Path dir) throws IOException {
        Path folder = TestModels.copy(Family.SD21, dir.resolve("model"));
        editJson(folder.resolve("text_encoder/config.json"), c -> c.put("hidden_size", 768));
        assertThat(ModelFolder.open(folder).family()).isEqualTo(ModelFamily.SD15);
        editJson(folder.resolve("text_encoder/config.json"), c -> c.put("hidden_size", 1024).put("hidden_act", "quick_gelu"));
        assertThat(ModelFolder.open(folder).family()).isEqualTo(ModelFamily.SD21);
    }

    @Test
    void predictionTypeDecidesWithoutAnEncoderConfig(@TempDir Path dir) throws IOException {
        Path sd21 = TestModels.copy(Family.SD21, dir.resolve("sd21"));
        Files.delete(sd21.resolve("text_encoder/config.json"));
        assertThat(ModelFolder.open(sd21).family()).isEqualTo(ModelFamily.SD21);
        editJson(sd21.resolve("scheduler/scheduler_config.json"), c -> c.put("prediction_type", "epsilon"));
        assertThat(ModelFolder.open(sd21).family()).isEqualTo(ModelFamily.SD15);
    }

    @Test
    void imageToImageAndOrtClassNamesAreAccepted(@TempDir Path dir) throws IOException {
        Path sd = TestModels.copy(Family.SD15, dir.resolve("sd"));
        editJson(sd.resolve("model_index.json"), c -> c.put("_class_name", "StableDiffusionImg2ImgPipeline"));
        assertThat(ModelFolder.open(sd).family()).isEqualTo(ModelFamily.SD15);
        Path xl = TestModels.copy(Family.SDXL, dir.resolve("xl"));
        editJson(xl.resolve("model_index.json"), c -> c.put("_class_name", "ORTStableDiffusionXLImg2ImgPipeline"));
        assertThat(ModelFolder.open(xl).family()).isEqualTo(ModelFamily.SDXL);
    }

    @Test
    void unknownPipelineClassNamesTheClassAndTheSupportedOnes(@TempDir Path dir) throws IOException {
        Path folder = TestModels.copy(Family.SD15, dir.resolve("model"));
        editJson(folder.resolve("model_index.json"), c -> c.put("_class_name", "KandinskyPipeline"));
        assertThatThrownBy(() -> ModelFolder.open(folder)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("KandinskyPipeline").hasMessageContaining("StableDiffusionXLPipeline");
        assertThat(new SdAdapterProvider().supports(folder)).isFalse();
    }

    @Test
    void incompleteFolderListsWhatWasFoundAndWhatIsMissing(@TempDir Path dir) throws IOException {
        Path folder = TestModels.copy(Family.SDXL, dir.resolve("model"));
        Files.delete(folder.resolve("text_encoder_2/model.onnx"));
        Files.delete(folder.resolve("unet/model.onnx"));
        assertThatThrownBy(() -> ModelFolder.open(folder)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("missing text_encoder_2/model.onnx, unet/model.onnx")
                .hasMessageContaining("found ").hasMessageContaining("tokenizer_2/");
    }

    @Test
    void folderWithoutModelIndexOrNoFolderAtAll(@TempDir Path dir) throws IOException {
        Files.writeString(dir.resolve("model.onnx"), "x");
        assertThatThrownBy(() -> ModelFolder.open(dir)).isInstanceOf(MalformedModelException.class)
                .hasMessageContaining("found model.onnx").hasMessageContaining("missing model_index.json");
        assertThatThrownBy(() -> ModelFolder.open(dir.resolve("absent"))).isInstanceOf(ModelNotFoundException.class)
                .hasMessageContaining("absent");
    }

    private static void editJson(Path file, java.util.function.Consumer<ObjectNode> edit) throws IOException {
        ObjectNode node = (ObjectNode) JSON.readTree(file.toFile());
        edit.accept(node);
        JSON.writeValue(file.toFile(), node);
    }
}
