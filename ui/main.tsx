import { render } from "solid-js/web";
import { App } from "./app.tsx";
import "./styles/app.css";

const root = document.getElementById("root")!;
// index.html paints a placeholder straight away (first contentful paint before any script runs); the app replaces it.
root.textContent = "";
render(() => <App />, root);
